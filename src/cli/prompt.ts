/**
 * Confirmation prompts with DistributedLog's wording: `<question> (Y or N) `, accepting y/yes/n/no in
 * any case. Unlike the original (which loops forever on a closed stdin), end of input means No, and
 * after MAX_INVALID_ANSWERS unreadable answers the prompt gives up with No.
 * On a terminal the question goes through inquirer; otherwise lines are read from stdin as they come,
 * so `echo Y | dlog bkshell metaformat` works and `dlog ... < /dev/null` declines.
 */
import inquirer from 'inquirer'
import {createInterface} from 'node:readline'
import type {Readable, Writable} from 'node:stream'

const MAX_INVALID_ANSWERS = 10

export interface PromptIO {
  input: Readable & {isTTY?: boolean}
  output: Writable & {isTTY?: boolean}
}

function parseAnswer(answer: string): boolean | undefined {
  const a = answer.trim().toLowerCase()
  if (a === 'y' || a === 'yes') return true
  if (a === 'n' || a === 'no') return false
  return undefined
}

export async function confirm(question: string, io: PromptIO = {input: process.stdin, output: process.stdout}): Promise<boolean> {
  if (io.input.isTTY && io.output.isTTY) {
    const {answer} = await inquirer.prompt<{answer: string}>([
      {
        type: 'input',
        name: 'answer',
        message: `${question} (Y or N)`,
        theme: {prefix: ''},
        validate: (value: string) => (parseAnswer(value) === undefined ? `Invalid input: ${value}` : true),
      },
    ])
    return parseAnswer(answer) === true
  }
  return confirmFromLines(question, io)
}

async function confirmFromLines(question: string, io: PromptIO): Promise<boolean> {
  const rl = createInterface({input: io.input, terminal: false})
  const lines = rl[Symbol.asyncIterator]()
  try {
    for (let attempt = 0; attempt < MAX_INVALID_ANSWERS; attempt++) {
      io.output.write(`${question} (Y or N) `)
      const next = await lines.next()
      if (next.done) {
        io.output.write('\n')
        return false
      }
      const parsed = parseAnswer(next.value)
      if (parsed !== undefined) return parsed
      io.output.write(`Invalid input: ${next.value}\n`)
    }
    return false
  } finally {
    rl.close()
  }
}
