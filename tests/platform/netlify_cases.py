"""Rule sets and requests on which the local platform is compared with Netlify's own engines.

Each case is one site: its rule files, the files it serves and the requests made to it. The
``family`` names the rule file under test (``_redirects``, ``_headers`` or ``netlify.toml``).
The cases follow the kinds of input in the vendors' published test fixtures (netlify/build
``packages/redirect-parser`` and ``packages/headers-parser``) and common site configurations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATIC = ["index.html", "404.html", "about.html", "blog/index.html", "blog/post.html", "news/index.html",
          "assets/app.js", "assets/app.css", "img/logo.png", "en/index.html", "fr/index.html",
          "app/index.html", "docs/guide/index.html", "real.html", "old/kept.html", "p/page.html"]


@dataclass
class Case:
    name: str
    family: str
    files: dict[str, str]
    requests: list[tuple[str, str]]
    static: list[str] = field(default_factory=lambda: list(STATIC))


def _reqs(*paths: str) -> list[tuple[str, str]]:
    out = []
    for p in paths:
        path, _, query = p.partition("?")
        out.append((path, query))
    return out


COMMON = _reqs("/", "/about", "/about/", "/blog", "/blog/", "/blog/post", "/blog/x/y", "/missing", "/real",
               "/assets/app.js", "/old/kept", "/p/page")

REDIRECTS: list[Case] = [
    Case("simple", "_redirects", {"_redirects": "/home / 301\n/old /about\n/blog/old-post /blog/post 302\n"},
         _reqs("/home", "/home/", "/old", "/old?x=1&y=2", "/blog/old-post", "/Home") + COMMON),
    Case("status and force", "_redirects", {"_redirects": (
        "/real /about 301\n/real-forced /about 301!\n/real.html /blog/post 200!\n/about /news 302\n"
        "/gone /missing.html 404\n/temp /about 307\n/perm /about 308\n/seeother /about 303\n")},
         _reqs("/real", "/real-forced", "/real.html", "/about", "/gone", "/temp", "/perm", "/seeother") + COMMON),
    Case("comments and trimming", "_redirects", {"_redirects": (
        "# a full line comment\n\n   /home              /   \n/x /about 301 # trailing comment\n"
        "\t/tabbed\t/about\t302\n/y /blog/post#ads # an anchor and a comment\n")},
         _reqs("/home", "/x", "/tabbed", "/y", "/y?a=1") + COMMON),
    Case("anchors and queries in destinations", "_redirects", {"_redirects": (
        "/blog/my-post-ads.php /blog/my-post#ads\n/q /search?q=1\n/qa /search?q=1#top\n/s/* /t/:splat#frag\n")},
         _reqs("/blog/my-post-ads.php", "/blog/my-post-ads.php?x=1", "/q", "/q?z=2", "/qa?z=2", "/s/a/b?k=v",
               "/s")),
    Case("splats", "_redirects", {"_redirects": (
        "/blog/* /news/:splat 301\n/docs/*/edit /edit/:splat\n/a/*/* /z/:splat\n/pre* /pp/:splat\n"
        "/trail/ /t2\n/m/*/n /o/:splat\n/x/*/y/* /xy/:splat\n/*/*/deep /root/:splat\n/q/*/*/* /q3/:splat\n"
        "/c/*/d/*/* /cd/:splat\n")},
         _reqs("/blog", "/blog/", "/blog/2024/hello", "/blog/a?b=c", "/docs/x/edit", "/docs/edit", "/docs/x/y/edit",
               "/a", "/a/1", "/a/1/2", "/prefix", "/pre", "/pre/fix", "/trail", "/trail/", "/m/n", "/m/1/2/n",
               "/x/1/2/y/3", "/x/y", "/BLOG/x", "/k/1/deep", "/q/1/2/3", "/q", "/c/1/d/2/3", "/c/d")),
    Case("placeholders", "_redirects", {"_redirects": (
        "/u/:id/profile /users/:id 301\n/p/:a/:b /pp/:b/:a\n/k/:x /kk/:x/:unknown\n/c/:cat/* /cc/:cat/:splat\n"
        "/s/:slug /posts/:slug.html 200\n/d/:id.html /dd/:id\n/dash/:x-y /dd/:x-y\n")},
         _reqs("/u/42/profile", "/u/42/profile/", "/u/42", "/p/1/2", "/p/1", "/k/9", "/c/shoes/red/big", "/c/shoes",
               "/s/post", "/s/nope", "/d/5", "/dash/1-2") + COMMON),
    Case("query conditions", "_redirects", {"_redirects": (
        "/ page=news /news\n/blog post=:post_id /blog/:post_id\n/ _escaped_fragment_=/about /about\n"
        "/store id=:id size=:size /products/:id/:size 301\n/v v=2 /v2\n/v /v1\n")},
         _reqs("/?page=news", "/?page=other", "/", "/blog?post=7", "/blog?post=7&x=1", "/blog",
               "/?_escaped_fragment_=/about", "/store?id=1&size=m", "/store?size=m&id=1", "/store?id=1",
               "/v?v=2", "/v?v=3", "/v", "/blog/?post=8")),
    Case("forward rules", "_redirects", {"_redirects": "/app/* 200\n/docs/* 200!\n"},
         _reqs("/app", "/app/", "/app/x/y", "/docs/guide", "/docs/guide/", "/docs/none")),
    Case("spa fallback", "_redirects", {"_redirects": "/api/* /api-missing.html 404\n/* /index.html 200\n"},
         _reqs("/", "/dashboard", "/users/7/settings", "/about", "/assets/app.js", "/assets/none.js", "/api/x")
         + COMMON),
    Case("locales", "_redirects", {"_redirects": (
        "/ /en/ 302\n/:lang/blog/* /blog/:splat?lang=:lang 301\n/fr/* /fr/index.html 200\n"
        "/en/* /en/index.html 200\n/de /en/ 302!\n")},
         _reqs("/", "/en/", "/en/blog/x", "/fr/blog/y?z=1", "/fr/anything", "/en/deep/page", "/de", "/de/")),
    Case("other hosts", "_redirects", {"_redirects": (
        "https://www.example.com/* https://example.com/:splat 301!\nhttp://old.example/* /new/:splat 301!\n"
        "/ext https://example.org/x\n/ext-splat/* https://example.org/:splat 302\n")},
         _reqs("/", "/about", "/ext", "/ext?a=1", "/ext-splat/a/b", "/ext-splat/a/b?c=d")),
    Case("statuses", "_redirects", {"_redirects": (
        "/gone /missing.html 410\n/teapot /about 418\n/err /about.html 500\n/notfound /nothing 404\n")},
         _reqs("/gone", "/teapot", "/err", "/notfound")),
    Case("shadowing", "_redirects", {"_redirects": (
        "/about /news 301\n/about.html /news 301\n/blog/ /news 301\n/blog/post /news 301!\n/index.html /news\n")},
         _reqs("/about", "/about.html", "/blog", "/blog/", "/blog/post", "/", "/index.html")),
]


def _old_url_map(n: int) -> str:
    lines = [f"/old/page-{i} /new/page-{i} 301" for i in range(n)]
    lines[n // 2:n // 2] = ["/old/section/* /new/section/:splat 301", "/old/:year/:slug /archive/:year/:slug 302"]
    lines.append("/old/* /new/:splat 302")
    return "\n".join(lines) + "\n"


REDIRECTS.append(Case("old-url map", "_redirects", {"_redirects": _old_url_map(3000)},
                      _reqs(*(f"/old/page-{i}" for i in range(0, 3000, 97)), "/old/page-2999/", "/old/section/a/b",
                            "/old/2019/hello", "/old/page-x", "/old/kept", "/old", "/new/page-1")))

SECURITY = ("/*\n  X-Frame-Options: DENY\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: strict-origin\n"
            "  Content-Security-Policy: default-src 'self'; img-src 'self' data:\n"
            "  Permissions-Policy: camera=(), microphone=()\n")

HEADERS: list[Case] = [
    Case("security headers", "_headers", {"_headers": SECURITY}, COMMON + _reqs("/deep/x/y", "/img/logo.png")),
    Case("immutable assets", "_headers", {"_headers": (
        "/assets/*\n  Cache-Control: public, max-age=31536000, immutable\n/*.js\n  X-Js: yes\n"
        "/img/*\n  Cache-Control: public,max-age=86400\n")},
         _reqs("/assets/app.js", "/assets/app.css", "/assets", "/img/logo.png", "/about", "/assetsx/y")),
    Case("repeated names, indented paths, empty values", "_headers", {"_headers": (
        "  /blog/*\n    Link: </a.css>; rel=preload\n    Link: </b.js>; rel=preload\n    X-Empty:\n"
        "    X-Kept: yes\n# comment\n/about\n  X-Multi: a ,b,  c\n  no colon here\n")},
         _reqs("/blog", "/blog/post", "/about", "/about/", "/")),
    Case("matching rules", "_headers", {"_headers": (
        "/*\n  X-Level: all\n  X-Only-All: 1\n/blog/*\n  X-Level: blog\n/blog/:slug\n  X-Slug: yes\n"
        "/News/\n  X-Case: insensitive\n/docs/*/index.html\n  X-Mid: star\n")},
         _reqs("/", "/blog", "/blog/post", "/blog/post/", "/blog/a/b", "/news", "/news/", "/docs/guide/index.html",
               "/about")),
    Case("rules with redirects", "_headers", {"_headers": "/old\n  X-Old: 1\n/about\n  X-About: 1\n",
                                              "_redirects": "/old /about 301\n/about /news 200!\n"},
         _reqs("/old", "/about")),
]

TOML: list[Case] = [
    Case("toml redirects", "netlify.toml", {"netlify.toml": (
        '[build]\npublish = "dist"\n\n[[redirects]]\nfrom = "/old"\nto = "/about"\n\n'
        '[[redirects]]\n  from = "/news/*"\n  to = "/blog/:splat"\n  status = 302\n\n'
        '[[redirects]]\nfrom = "/real"\nto = "/about"\nforce = true\nstatus = 301\n\n'
        '[[redirects]]\nfrom = "/search"\nto = "/results/:q"\nquery = {q = ":q"}\n\n'
        '[[redirects]]\nfrom = "/app/*"\nstatus = 200\n\n'
        '[[redirects]]\norigin = "/legacy"\ndestination = "/about"\nstatus = 308\n')},
         _reqs("/old", "/news/a/b", "/news", "/real", "/search?q=hats", "/search", "/app/x", "/legacy") + COMMON),
    Case("toml and _redirects", "netlify.toml", {
        "_redirects": "/a /from-file 301\n",
        "netlify.toml": '[[redirects]]\nfrom = "/a"\nto = "/from-toml"\n[[redirects]]\nfrom = "/b"\nto = "/toml-b"\n'},
         _reqs("/a", "/b", "/c")),
    Case("toml headers", "netlify.toml", {
        "_headers": "/*\n  X-Who: file\n  X-File: 1\n",
        "netlify.toml": ('[[headers]]\nfor = "/*"\n[headers.values]\nX-Who = "toml"\n'
                         'Cache-Control = "public,  max-age=60"\n\n'
                         '[[headers]]\n  for = "/blog/*"\n  [headers.values]\n    Link = ["</a.css>; rel=preload", '
                         '"</b.js>; rel=preload"]\n    X-Trim = "  padded  "\n')},
         _reqs("/", "/blog/post", "/blog", "/about")),
    Case("toml spa", "netlify.toml", {"netlify.toml": (
        '[[redirects]]\nfrom = "/*"\nto = "/index.html"\nstatus = 200\n\n'
        '[[headers]]\nfor = "/assets/*"\n[headers.values]\nCache-Control = "public, max-age=31536000, immutable"\n')},
         _reqs("/", "/x/y", "/assets/app.js", "/about")),
]

CASES = REDIRECTS + HEADERS + TOML

# Rules a local server cannot apply: each is answered as if the rule were absent (finalize warns).
NOT_APPLICABLE: list[Case] = [
    Case("country, language and role conditions", "_redirects", {"_redirects": (
        "/start /fr/ 302 Country=fr\n/start /en/ 302 Language=en\n/admin/* /admin/:splat 200! Role=admin\n/start /about 302\n")},
         _reqs("/start", "/admin/x")),
    Case("proxying to another host", "_redirects", {"_redirects": "/api/* https://api.example/:splat 200\n"},
         _reqs("/api/x")),
]

# Lines Netlify's parser rejects, with the line the platform names when it refuses them.
REJECTED: list[tuple[str, str, int]] = [
    ("_redirects", "/ok /about\n/only-source\n", 2),
    ("_redirects", "/ok /about\n/a not-a-path\n", 2),
    ("_redirects", "/a /b Country=us\n", 1),
    ("_redirects", "/a /b abc\n", 1),
    ("_redirects", "/x 200\n", 1),
    ("_redirects", "/x/* 301\n", 1),
    ("_redirects", "/.netlify/functions/x /y\n", 1),
    ("_redirects", "# c\n/a page=1\n", 2),
    ("_headers", "X-Early: 1\n/a\n  X-B: 2\n", 1),
    ("_headers", "/a\n  : value\n", 2),
]
