// What Netlify's own engines answer for a set of rule files and requests (the differential tests'
// reference). Reads {"cases": [{"files": {name: text}, "static": [path...], "requests": [[path, query]...]}]}
// on stdin and prints, for each case, {"errors": [...], "answers": [{status, location, file, headers}]}.
// Rules are parsed by @netlify/redirect-parser and @netlify/headers-parser and matched by
// netlify-redirector, and a match is turned into an answer the way `netlify dev` does it
// (a file shadows a rule unless it is forced; request query parameters are passed on when the
// destination has none; 200 and other non-3xx statuses serve the destination's file). Header rules
// match the request path, as on Netlify's CDN, and redirects carry none (as `netlify dev` sends them).
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { parseAllRedirects } from '@netlify/redirect-parser'
import { parseAllHeaders } from '@netlify/headers-parser'

const require = createRequire(import.meta.url)
const redirector = require('netlify-redirector')
const ORIGIN = 'http://site.localhost'

// the CLI's shape for the redirector: `from` is `origin`, `query` is `params`, capitalised conditions
const forRedirector = ({ conditions: { country, language, role, ...conditions } = {}, from, query, signed, ...rest }) => ({
  ...rest,
  origin: from,
  params: query,
  conditions: {
    ...conditions,
    ...(role && { Role: role }),
    ...(country && { Country: country }),
    ...(language && { Language: language }),
  },
  ...(signed && { sign: { jwt_secret: signed } }),
})

// `netlify dev`'s static lookup: the path, then its .html / index.html alternatives
const lookup = (files, path) => {
  const alternatives = [path]
  if (path.endsWith('/')) {
    if (path !== '/') alternatives.push(`${path.slice(0, -1)}.html`, `${path.slice(0, -1)}.htm`)
    alternatives.push(`${path}index.html`, `${path}index.htm`)
  } else if (!/\.html?$/.test(path)) {
    alternatives.push(`${path}.html`, `${path}.htm`, `${path}/index.html`, `${path}/index.htm`)
  }
  return alternatives.map((p) => p.slice(1)).find((p) => files.has(p)) ?? null
}

const serveFile = (files, path, status) => {
  const file = lookup(files, path)
  if (file !== null) return { status, location: null, file }
  return { status: 404, location: null, file: files.has('404.html') ? '404.html' : null }
}

const headersFor = (rules, path) => {
  const found = {}
  for (const rule of rules) {
    if (rule.forRegExp.test(path)) {
      for (const [name, value] of Object.entries(rule.values)) found[name.toLowerCase()] = value
    }
  }
  return found
}

const answer = (matcher, files, headerRules, [path, query]) => {
  const headers = headersFor(headerRules, path)
  const match = matcher ? matcher.match({ scheme: 'http', host: 'site.localhost', path, query,
    getHeader: () => '', getCookie: () => '' }) : null
  const file = lookup(files, path)
  if (!match || (file !== null && !match.force)) return { ...serveFile(files, path, 200), headers }
  if (match.force404) return { status: 404, location: null, file: files.has('404.html') ? '404.html' : null, headers }
  const dest = new URL(match.to, ORIGIN)
  if ([...dest.searchParams].length === 0) {
    for (const [key, value] of new URLSearchParams(query)) dest.searchParams.append(key, value)
  }
  const external = /^https?:\/\//.test(match.to)
  if (match.status >= 300 && match.status <= 400) {
    const location = external ? `${dest}` : `${dest.pathname}${dest.search}${dest.hash}`
    return { status: match.status, location, file: null, headers: {} }
  }
  return { ...serveFile(files, decodeURIComponent(dest.pathname), match.status), headers }
}

const run = async ({ files = {}, static: statics = [], requests = [] }) => {
  const dir = mkdtempSync(join(tmpdir(), 'netlify-rules-'))
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
    const configPath = files['netlify.toml'] === undefined ? undefined : join(dir, 'netlify.toml')
    const redirects = await parseAllRedirects({ redirectsFiles: [join(dir, '_redirects')], netlifyConfigPath: configPath,
      minimal: false })
    const headers = await parseAllHeaders({ headersFiles: [join(dir, '_headers')], netlifyConfigPath: configPath,
      minimal: false })
    const rules = redirects.redirects.map(forRedirector)
    const matcher = rules.length ? await redirector.parseJSON(JSON.stringify(rules), {}) : null
    const set = new Set(statics)
    return {
      errors: [...redirects.errors, ...headers.errors].map((e) => e.message),
      answers: requests.map((r) => answer(matcher, set, headers.headers, r)),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

let input = ''
for await (const chunk of process.stdin) input += chunk
const { cases } = JSON.parse(input)
const out = []
for (const c of cases) out.push(await run(c))
process.stdout.write(JSON.stringify(out))
