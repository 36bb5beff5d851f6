/**
 * Confirmation prompts with DistributedLog's wording: `<question> (Y or N) `, accepting y/yes/n/no in
 * any case. Unlike the original (which loops forever on a closed stdin), end of input means No, and
 * after MAX_INVALID_ANSWERS unreadable answers the prompt gives up with No.
 * On a terminal the question goes through inquirer; otherwise lines are read from stdin as they come,
 * so `echo Y | dlog bkshell metaformat` works and `dlog ... < /dev/null` declines. A piped answer is not
 * echoed, so endAnswerLine() ends the line the question left open; confirmOrDecline() is the whole
 * ask → end the line → decline-unless-Y step the commands share.
 */
import inquirer from 'inquirer'
import {createInterface} from 'node:readline'
import type {Readable, Writable} from 'node:stream'

import {DeclinedError} from './base-command.js'

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

const STDIO: PromptIO = {input: process.stdin, output: process.stdout}

export async function confirm(question: string, io: PromptIO = STDIO): Promise<boolean> {
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

/** After a prompt: a piped answer is not echoed, so end the prompt's line before anything else is printed. */
export function endAnswerLine(io: PromptIO = STDIO): void {
  if (!io.input.isTTY) io.output.write('\n')
}

/** Asks `<question> (Y or N) ` (EOF = No), ends the line, and throws DeclinedError unless the answer is Y. */
export async function confirmOrDecline(question: string, io: PromptIO = STDIO): Promise<void> {
  const yes = await confirm(question, io)
  endAnswerLine(io)
  if (!yes) throw new DeclinedError()
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
