/**
 * The repository's own reference check, run by `markdown-links.test.ts` (unit tier): every
 * relative link in a Markdown file leads to a file of the repository (and to a heading of it,
 * when it names one), and no file points outside the repository, as a relative path that climbs
 * out of it or as the name of a Markdown document the repository does not have. A clone is all
 * a reader has.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'

/**
 * Files not checked: the lock file is generated, and this checker and its test quote the very
 * references they catch.
 */
const SKIPPED_FILES = new Set([
  'package-lock.json',
  'scripts/markdown-links.ts',
  'scripts/markdown-links.test.ts',
])

export interface MarkdownLink {
  line: number
  target: string
}

/** Lines of a Markdown text with fenced code blocks blanked. */
function linesOutsideCode(markdown: string): string[] {
  let fence: string | undefined
  return markdown.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1]
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined
      return ''
    }
    return fence === undefined ? line : ''
  })
}

/** Inline links and images (`[text](target)`, `![alt](target)`) and reference definitions. */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = []
  linesOutsideCode(markdown).forEach((line, i) => {
    const text = line.replace(/`[^`]*`/g, '``') // code spans hold no links either
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ line: i + 1, target: match[1] ?? '' })
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(text)
    if (definition) links.push({ line: i + 1, target: definition[1] ?? '' })
  })
  return links
}

/** The anchors GitHub gives a document's headings (`## Run a node` → `run-a-node`). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of linesOutsideCode(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1]
    if (heading === undefined) continue
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // of a link, its text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    anchors.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return anchors
}

/** Whether a link target names something outside this file tree (a URL, a mail address). */
function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')
}

/** `path` relative to `root`, or undefined when it lies outside `root`. */
function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path)
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined
  return rel.split(sep).join('/')
}

/** Problems with the links of one Markdown file, as `file:line: what`. */
export function linkProblems(root: string, file: string, markdown: string): string[] {
  const problems: string[] = []
  for (const { line, target } of markdownLinks(markdown)) {
    if (isExternal(target)) continue
    const [pathPart = '', anchor] = target.split('#', 2)
    const path = decodeURIComponent(pathPart)
    const where = `${file}:${line}: ${target}`
    if (path === '') {
      // An anchor in this very file.
      if (anchor !== undefined && !headingAnchors(markdown).has(anchor)) {
        problems.push(`${where}: ${file} has no heading #${anchor}`)
      }
      continue
    }
    const rel = inside(root, resolve(root, dirname(file), path))
    if (rel === undefined) {
      problems.push(`${where} leads outside the repository`)
      continue
    }
    const full = join(root, rel)
    if (!existsSync(full)) {
      problems.push(`${where}: no such file`)
      continue
    }
    if (anchor !== undefined && rel.endsWith('.md')) {
      if (!headingAnchors(readFileSync(full, 'utf8')).has(anchor)) {
        problems.push(`${where}: ${rel} has no heading #${anchor}`)
      }
    }
  }
  return problems
}

/**
 * Problems with references in any text file (code comments included): a relative path that
 * climbs out of the repository (`../shared/…` from the root), or a Markdown document named
 * that is not in the repository (`PROTOCOL.md` of a folder beside the clone).
 */
export function referenceProblems(
  root: string,
  file: string,
  text: string,
  markdownFiles: ReadonlySet<string>,
): string[] {
  const problems: string[] = []
  text.split('\n').forEach((content, i) => {
    const where = `${file}:${i + 1}`
    const line = content.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '') // URLs lead elsewhere by design
    for (const [path] of line.matchAll(/(?:\.\.\/)+[\w.@/-]*/g)) {
      if (inside(root, resolve(root, dirname(file), path)) === undefined) {
        problems.push(`${where}: ${path} leads outside the repository`)
      }
    }
    for (const [name] of line.matchAll(/[\w./-]*\w\.md\b/g)) {
      const candidates = [resolve(root, name), resolve(root, dirname(file), name)]
      const known = candidates.some((candidate) => {
        const rel = inside(root, candidate)
        return rel !== undefined && markdownFiles.has(rel)
      })
      if (!known) problems.push(`${where}: ${name} is not a document of this repository`)
    }
  })
  return problems
}

/** Every problem in the repository at `root`: its tracked files and new files not ignored. */
export function repositoryProblems(root: string): string[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((file) => file !== '' && !SKIPPED_FILES.has(file) && existsSync(join(root, file)))
  const markdownFiles = new Set(files.filter((file) => file.endsWith('.md')))
  const problems: string[] = []
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8')
    if (text.includes('\0')) continue // binary
    if (file.endsWith('.md')) problems.push(...linkProblems(root, file, text))
    problems.push(...referenceProblems(root, file, text, markdownFiles))
  }
  return [...new Set(problems)] // a bad link is also a bad reference: say it once
}
