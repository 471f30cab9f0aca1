/**
 * Everything a reader follows from the clone stays inside it: Markdown links resolve (headings
 * too), and no document or code comment points outside the repository.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  headingAnchors,
  linkProblems,
  markdownLinks,
  referenceProblems,
  repositoryProblems,
} from './markdown-links.ts'

const ROOT = resolve(import.meta.dirname, '..')

describe('the repository', () => {
  it('has no broken relative link and no reference outside it', () => {
    expect(repositoryProblems(ROOT)).toEqual([])
  })
})

describe('the checker', () => {
  const root = mkdtempSync(join(tmpdir(), 'palaver-links-'))
  afterAll(() => rmSync(root, { recursive: true, force: true }))
  mkdirSync(join(root, 'docs'))
  writeFileSync(
    join(root, 'docs/guide.md'),
    '# Guide\n\n## Set up `chat-node`\n\n## Set up `chat-node`\n',
  )

  it('finds inline links, images and reference definitions, not code', () => {
    const text = [
      'See [the guide](docs/guide.md#guide) and ![a shot](docs/shot.png "title").',
      '`[not](a-link.md)`',
      '```sh',
      'echo [not](a-link.md)',
      '```',
      '[ref]: <docs/guide.md>',
    ].join('\n')
    expect(markdownLinks(text)).toEqual([
      { line: 1, target: 'docs/guide.md#guide' },
      { line: 1, target: 'docs/shot.png' },
      { line: 6, target: 'docs/guide.md' },
    ])
  })

  it('names headings as GitHub does, duplicates numbered', () => {
    expect([...headingAnchors('# A node: *the* [CLI](x.md)\n## Run it\n## Run it\n')]).toEqual([
      'a-node-the-cli',
      'run-it',
      'run-it-1',
    ])
  })

  it('reports missing files, missing headings and links out of the repository', () => {
    const text = [
      '[ok](docs/guide.md#set-up-chat-node-1) [web](https://example.org/x.md) [self](#top) [me](#bottom)',
      '[gone](docs/missing.md) [bad anchor](docs/guide.md#nope) [out](../shared/PROTOCOL.md)',
      '# Top',
    ].join('\n')
    expect(linkProblems(root, 'README.md', text)).toEqual([
      'README.md:1: #bottom: README.md has no heading #bottom',
      'README.md:2: docs/missing.md: no such file',
      'README.md:2: docs/guide.md#nope: docs/guide.md has no heading #nope',
      'README.md:2: ../shared/PROTOCOL.md leads outside the repository',
    ])
  })

  it('checks the anchors of a linked document', () => {
    expect(linkProblems(root, 'README.md', '[p](docs/protocol.md#frames)')).toEqual([
      'README.md:1: docs/protocol.md#frames: no such file',
    ])
    writeFileSync(join(root, 'docs/protocol.md'), '# Protocol\n')
    expect(linkProblems(root, 'README.md', '[p](docs/protocol.md#frames)')).toEqual([
      'README.md:1: docs/protocol.md#frames: docs/protocol.md has no heading #frames',
    ])
  })

  it('reports code comments that climb out of the repository or name documents it lacks', () => {
    const code = [
      "import { x } from '../../shared/protocol.ts' // docs/guide.md, README.md",
      ' * The handshake of ../../../shared/PROTOCOL.md (DESIGN.md, invariant 4).',
      ' * See https://example.org/FAQ.md and docs/architecture.md.',
    ].join('\n')
    expect(
      referenceProblems(root, 'src/shared/a.ts', code, new Set(['README.md', 'docs/guide.md'])),
    ).toEqual([
      'src/shared/a.ts:2: ../../../shared/PROTOCOL.md leads outside the repository',
      'src/shared/a.ts:2: ../../../shared/PROTOCOL.md is not a document of this repository',
      'src/shared/a.ts:2: DESIGN.md is not a document of this repository',
      'src/shared/a.ts:3: docs/architecture.md is not a document of this repository',
    ])
  })
})
