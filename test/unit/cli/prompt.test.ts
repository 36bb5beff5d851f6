/**
 * The Y/N prompt on piped input (src/cli/prompt.ts): the answers it accepts, re-asking after an invalid
 * one, end of input as No, and the line a piped answer leaves open. The streams are injected, so
 * nothing here touches the process's stdin or stdout; the terminal (inquirer) path is not driven.
 */
import assert from 'node:assert/strict'
import {PassThrough, Writable} from 'node:stream'
import {describe, it} from 'node:test'

import {DeclinedError} from '../../../src/cli/base-command.js'
import {confirm, confirmOrDecline, endAnswerLine, type PromptIO} from '../../../src/cli/prompt.js'

const Q = 'You are going to delete stream : s'
const ASK = `${Q} (Y or N) `

/** A piped stdin that has already received `text` (and, unless `open`, its end) and a stdout that records what it gets. */
function pipedIO(text: string, {open = false, tty = false} = {}): PromptIO & {input: PassThrough; written: () => string} {
  const input: PassThrough & {isTTY?: boolean} = new PassThrough()
  if (tty) input.isTTY = true
  if (text !== '') input.write(text)
  if (!open) input.end()
  const chunks: string[] = []
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'))
      done()
    },
  })
  return {input, output, written: () => chunks.join('')}
}

describe('confirm on piped input', () => {
  for (const [answer, expected] of [
    ['Y', true],
    ['y', true],
    ['yes', true],
    [' YES ', true],
    ['N', false],
    ['n', false],
    ['No', false],
  ] as const) {
    it(`reads ${JSON.stringify(answer)} as ${expected ? 'Y' : 'N'} and asks once, leaving the line open`, async () => {
      const io = pipedIO(`${answer}\n`)
      assert.equal(await confirm(Q, io), expected)
      assert.equal(io.written(), ASK)
    })
  }

  it('accepts a last answer with no newline', async () => {
    const io = pipedIO('Y')
    assert.equal(await confirm(Q, io), true)
    assert.equal(io.written(), ASK)
  })

  it('re-asks after an invalid answer and takes the next valid one', async () => {
    const io = pipedIO('maybe\nY\n')
    assert.equal(await confirm(Q, io), true)
    assert.equal(io.written(), `${ASK}Invalid input: maybe\n${ASK}`)
  })

  it('re-asks after an empty line', async () => {
    const io = pipedIO('\nn\n')
    assert.equal(await confirm(Q, io), false)
    assert.equal(io.written(), `${ASK}Invalid input: \n${ASK}`)
  })

  it('takes closed input as No and ends the question line', async () => {
    const io = pipedIO('')
    assert.equal(await confirm(Q, io), false)
    assert.equal(io.written(), `${ASK}\n`)
  })

  it('takes input closed after invalid answers as No', async () => {
    const io = pipedIO('what\n')
    assert.equal(await confirm(Q, io), false)
    assert.equal(io.written(), `${ASK}Invalid input: what\n${ASK}\n`)
  })

  it('gives up with No after 10 invalid answers and reads no further', async () => {
    const io = pipedIO(`${'x\n'.repeat(10)}Y\n`)
    assert.equal(await confirm(Q, io), false)
    assert.equal(io.written(), `${ASK}Invalid input: x\n`.repeat(10))
  })

  it('waits for an answer that arrives after the question', async () => {
    const io = pipedIO('', {open: true})
    const answer = confirm(Q, io)
    await new Promise<void>((resolve) => setImmediate(resolve))
    assert.equal(io.written(), ASK)
    io.input.write('y\n')
    assert.equal(await answer, true)
    assert.equal(io.written(), ASK)
  })

  it('reads lines, not the terminal prompt, when only stdin is a terminal', async () => {
    const io = pipedIO('Y\n', {tty: true})
    assert.equal(await confirm(Q, io), true)
    assert.equal(io.written(), ASK)
  })
})

describe('endAnswerLine', () => {
  it('ends the line after a piped answer (not echoed)', () => {
    const io = pipedIO('')
    endAnswerLine(io)
    assert.equal(io.written(), '\n')
  })

  it('writes nothing when stdin is a terminal (the answer was echoed with its newline)', () => {
    const io = pipedIO('', {tty: true})
    endAnswerLine(io)
    assert.equal(io.written(), '')
  })
})

describe('confirmOrDecline on piped input', () => {
  it('resolves on Y and ends the line the answer left open', async () => {
    const io = pipedIO('Y\n')
    await confirmOrDecline(Q, io)
    assert.equal(io.written(), `${ASK}\n`)
  })

  it('resolves on y', async () => {
    const io = pipedIO('y\n')
    await confirmOrDecline(Q, io)
    assert.equal(io.written(), `${ASK}\n`)
  })

  it('throws DeclinedError on N, after ending the line', async () => {
    const io = pipedIO('N\n')
    await assert.rejects(confirmOrDecline(Q, io), DeclinedError)
    assert.equal(io.written(), `${ASK}\n`)
  })

  it('resolves on an invalid answer then Y', async () => {
    const io = pipedIO('later\nY\n')
    await confirmOrDecline(Q, io)
    assert.equal(io.written(), `${ASK}Invalid input: later\n${ASK}\n`)
  })

  it('throws DeclinedError on closed input; the question line is ended twice (by confirm, then as a piped answer)', async () => {
    const io = pipedIO('')
    await assert.rejects(confirmOrDecline(Q, io), DeclinedError)
    assert.equal(io.written(), `${ASK}\n\n`)
  })
})
