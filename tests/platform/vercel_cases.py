"""vercel.json cases for the differential test: configurations, site files and requests.

``PUBLISHED``: the route fixtures of ``@vercel/routing-utils``' own tests (packages/routing-utils/
test/superstatic.spec.ts in vercel/vercel): each source with the paths that test says must and must
not match. ``COMMON``: configurations sites use (SPA fallback, www -> apex, locale redirects,
immutable assets, security headers, clean URLs and trailing slashes).

A case is ``(name, config, requests)``; a request is a path, or ``(path, query, headers)``.
"""

from __future__ import annotations

from typing import Any

FILES = ["index.html", "404.html", "about.html", "docs/index.html", "docs/intro.html", "blog/index.html",
         "blog/first-post.html", "assets/app.js", "assets/logo.png", "feedback/general.html", "fr/index.html",
         "de/index.html", "projects.html", "some/new/path.html", "api/user.html", ".well-known/security.txt",
         "dir/foo.html", "dir/foo/bar.css", "sub/index.html", "file.html", "app/index.html", "new/path/one.html"]

ALL_CONDITIONS = {"host": "vercel.com", "x-rewrite": "1", "cookie": "loggedIn=1", "x-pathname": "hello"}
HAS_EVERYTHING = [
    {"type": "header", "key": "x-rewrite"}, {"type": "cookie", "key": "loggedIn", "value": "1"},
    {"type": "host", "value": "vercel.com"}, {"type": "host", "value": "(?<a>.*)\\.(?<b>.*)"},
    {"type": "header", "key": "host", "value": "(?<c>.*)\\.(?<d>.*)"}, {"type": "query", "key": "username"},
    {"type": "header", "key": "x-pathname", "value": "(?<pathname>.*)"},
    {"type": "header", "key": "X-Pathname", "value": "(?<another>hello|world)"}]


def _with_conditions(paths: list[str]) -> list[Any]:
    return [*paths, *[(p, "username=ann", ALL_CONDITIONS) for p in paths]]


# (source, destination, paths that must match, paths that must not) from convertRedirects
_REDIRECTS: list[tuple[dict[str, Any], list[str], list[str]]] = [
    ({"source": "/some/old/path", "destination": "/some/new/path"}, ["/some/old/path"], ["/nope"]),
    ({"source": "/next(\\.js)?", "destination": "https://nextjs.org"}, ["/next", "/next.js"], ["/nextAjs", "/nextjs"]),
    ({"source": "/proxy/(.*)", "destination": "https://www.firebase.com", "statusCode": 302},
     ["/proxy/one", "/proxy/2", "/proxy/-", "/proxy/dir/sub"], ["/prox", "/proxyed/two"]),
    ({"source": "/proxy-regex/([a-zA-Z]{1,})", "destination": "https://firebase.com/$1"},
     ["/proxy-regex/admin", "/proxy-regex/anotherAdmin"], ["/proxy-regex/user/1", "/proxy-regex/another/1"]),
    ({"source": "/proxy-port/([a-zA-Z]{1,})", "destination": "https://firebase.com:8080/$1"},
     ["/proxy-port/admin"], ["/proxy-port/user/1"]),
    ({"source": "/projects/:id/:action", "destination": "/projects.html"},
     ["/projects/one/edit", "/projects/two/edit"], ["/projects/edit", "/projects/two/three/delete", "/projects"]),
    ({"source": "/old/:segment/path", "destination": "/new/path/:segment"},
     ["/old/one/path", "/old/two/path"], ["/old/path", "/old/two/foo", "/old"]),
    ({"source": "/catchall/:hello*", "destination": "/catchall/:hello*/"},
     ["/catchall/first", "/catchall/first/second", "/catchall"], ["/random-catch"]),
    ({"source": "/another-catch/:hello+", "destination": "/another-catch/:hello+/"},
     ["/another-catch/first", "/another-catch/first/second"], ["/another-catch"]),
    ({"source": "/feedback/((?!general).*)", "destination": "/feedback/general"},
     ["/feedback/another"], ["/feedback/general"]),
    ({"source": "/catchme/:id*", "destination": "/api/user"}, ["/catchme/id-1", "/catchme/id/2"],
     ["/catchm", "/random"]),
    ({"source": "/hello/:world*", "destination": "/something#:world*"}, ["/hello/world", "/hello/another/world"],
     ["/not-this-one", "/helloo"]),
    ({"source": "/external/:id", "destination": "https://example.com/?utm_source=google.com#/guides/:id/page?dynamic=code"},
     ["/external/1", "/external/2"], ["/externalnope", "/externally"]),
    ({"source": "/optional/:id?", "destination": "/api/optional/:id?"}, ["/optional", "/optional/1"],
     ["/optionalnope", "/optionally"]),
    ({"source": "/feature-{:slug}", "destination": "/blog-{:slug}"}, ["/feature-first", "/feature-second"],
     ["/feature/first", "/feature"]),
    ({"source": "/hello/:world", "destination": "/somewhere?else={:world}"}, ["/hello/world", "/hello/again"],
     ["/hello", "/hello/another/one"]),
    ({"source": "/hello/:first", "destination": "/another/:a/:b", "permanent": False,
      "has": [{"type": "host", "value": "(?<a>.*)\\.(?<b>.*)"}]}, ["/hello/world"], ["/hellooo"]),
    ({"source": "/hello/:first", "destination": "/another/:first/:username/:pathname/:another/:host/:a/:b/:c/:d",
      "permanent": False, "has": HAS_EVERYTHING}, ["/hello/world"], ["/helloooo"]),
]

# from convertRewrites (rewrites to other hosts are proxies: not applicable locally)
_REWRITES: list[tuple[dict[str, Any], list[str], list[str]]] = [
    ({"source": "/some/old/path", "destination": "/some/new/path.html"}, ["/some/old/path"], ["/nope"]),
    ({"source": "/projects/:id/edit", "destination": "/projects.html"}, ["/projects/one/edit"],
     ["/projects/edit", "/projects/two/delete", "/projects"]),
    ({"source": "/users/:id", "destination": "/api/user.html?identifier=:id&version=v2"}, ["/users/four"],
     ["/users/edit/four", "/users"]),
    ({"source": "/:file/:id", "destination": "/:file/get?identifier=:id"}, ["/file1/yep", "/docs/intro.html"], ["/"]),
    ({"source": "/catchall/:hello*/", "destination": "/catchall/:hello*"}, ["/catchall/first/", "/catchall/first/second/"],
     ["/random-catch/"]),
    ({"source": "/catchme/:id*", "destination": "/api/user.html"}, ["/catchme/id-1", "/catchme/id/2"],
     ["/catchm", "/random"]),
    ({"source": "/:path", "destination": "/docs/:path.html"}, ["/intro", "/another"], ["/not/these"]),
    ({"source": "/(.*)-:id(\\d+).html", "destination": "/blog/:id"}, ["/hello/post-123.html", "/post-123.html"],
     ["/hello/post.html"]),
    ({"source": "/feature-{:slug}", "destination": "/blog/{:slug}.html"}, ["/feature-first-post", "/feature-second"],
     ["/feature/first", "/feature"]),
    ({"source": "/hello/:first", "destination": "/:a/index.html",
      "has": [{"type": "host", "value": "(?<a>.*)\\.(?<b>.*)"}]}, ["/hello/world"], ["/hllooo"]),
    ({"source": "/:nextInternalLocale/:path", "destination": "/:nextInternalLocale/index.html"},
     ["/fr/hello", "/de/x"], ["/en/hello/world", "/en/hello/"]),
]

# from convertHeaders (header names with ':' in them are not valid header names: left out)
_HEADERS: list[tuple[dict[str, Any], list[str], list[str]]] = [
    ({"source": "(.*)+/(.*)\\.(eot|otf|ttf|ttc|woff|font\\.css)",
      "headers": [{"key": "Access-Control-Allow-Origin", "value": "*"}]},
     ["/hello/world/file.eot", "/another/font.ttf", "/dir/arial.font.css"], ["/hello/file.jpg", "/dir/arial.font-css"]),
    ({"source": "/404.html", "headers": [{"key": "Cache-Control", "value": "max-age=300"},
                                         {"key": "Set-Cookie", "value": "error=404"}]}, ["/404.html"], ["/403.html"]),
    ({"source": "/blog/:path*", "headers": [{"key": "on-blog", "value": ":path*"}]},
     ["/blog/first-post", "/blog/another/one", "/blog"], ["/blogg", "/random"]),
    ({"source": "/like/params/:path", "headers": [
        {"key": "x-path", "value": ":path"}, {"key": "x-test", "value": "some:value*"},
        {"key": "x-test-2", "value": "value*"}, {"key": "x-test-3", "value": ":value?"},
        {"key": "x-test-4", "value": ":value+"}, {"key": "x-test-5", "value": "something https:"},
        {"key": "x-test-6", "value": ":hello(world)"}, {"key": "x-test-7", "value": "hello(world)"},
        {"key": "x-test-8", "value": "hello{1,}"}, {"key": "x-test-9", "value": ":hello{1,2}"},
        {"key": "content-security-policy", "value": "default-src 'self'; img-src *; media-src media1.com "
                                                    "media2.com; script-src userscripts.example.com/:path"}]},
     ["/like/params/first", "/like/params/second"], ["/non-match", "/like/params", "/like/params/"]),
    ({"source": "/hello/:first", "has": [{"type": "host", "value": "(?<a>.*)\\.(?<b>.*)"}],
      "headers": [{"key": "x-a", "value": ":a"}]}, ["/hello/world"], ["/hellooo"]),
    ({"source": "/hello/:first", "has": HAS_EVERYTHING, "headers": [
        {"key": "x-header", "value": "something"}, {"key": "x-user", "value": ":username"},
        {"key": "x-another", "value": ":another"}, {"key": "x-a", "value": ":a"}, {"key": "x-c", "value": ":c"}]},
     ["/hello/world"], ["/hellooo"]),
    ({"source": "/(.*)", "has": [{"type": "query", "key": "shop"}], "headers": [
        {"key": "Content-Security-Policy", "value": "frame-ancestors 'self' https://test-app.vercel.app https://:shop;"}]},
     ["/hello", "/about.html"], []),
]

_CLEAN_PATHS = ["/index", "/index.html", "/sub/index", "/sub/index.html", "/file.html", "/dir/foo.html",
                "/someindex", "/someindex.html", "/indexAhtml", "/sub/someindex", "/sub/indexAhtml", "/filehtml",
                "/index/", "/index.html/", "/sub/index/", "/sub/index.html/", "/file.html/", "/file", "/about"]
_SLASH_PATHS = ["/.well-known", "/.well-known/", "/.well-known/asdf", "/.well-known/asdf/",
                "/.well-known/security.txt", "/swell-known", "/swell-known/", "/swell-known/asdf/", "/dir",
                "/dir/foo", "/dir/foo/bar", "/foo.html/", "/dir/foo.html/", "/dir/foo/bar.css/",
                "/dir/about.map.js/", "/", "/index.html", "/asset/style.css", "/dir/", "/dir/foo/", "/docs",
                "/docs/", "/about", "/about/", "/about.html", "/mkdir", "/dirp"]


def published() -> list[tuple[str, dict[str, Any], list[Any]]]:
    cases: list[tuple[str, dict[str, Any], list[Any]]] = []
    for kind, table in (("redirects", _REDIRECTS), ("rewrites", _REWRITES), ("headers", _HEADERS)):
        for i, (entry, yes, no) in enumerate(table):
            requests = _with_conditions(yes + no) if "has" in entry else [*yes, *no]
            cases.append((f"{kind}[{i}] {entry['source']}", {kind: [entry]}, requests))
    for clean in (True, False):
        for slash in (True, False, None):
            conf: dict[str, Any] = {"cleanUrls": clean}
            if slash is not None:
                conf["trailingSlash"] = slash
            cases.append((f"cleanUrls={clean} trailingSlash={slash}", conf, _CLEAN_PATHS + _SLASH_PATHS))
    return cases


def common() -> list[tuple[str, dict[str, Any], list[Any]]]:
    immutable = {"key": "Cache-Control", "value": "public, max-age=31536000, immutable"}
    security = [{"key": "X-Frame-Options", "value": "DENY"}, {"key": "X-Content-Type-Options", "value": "nosniff"},
                {"key": "Referrer-Policy", "value": "strict-origin-when-cross-origin"},
                {"key": "Strict-Transport-Security", "value": "max-age=63072000; includeSubDomains; preload"}]
    paths = ["/", "/about", "/about.html", "/docs", "/docs/", "/docs/intro", "/app/settings", "/assets/app.js",
             "/assets/missing.js", "/fr", "/fr/", "/blog/first-post", "/nope/deep/path"]
    www = [(p, "", {"host": h}) for p in ("/", "/docs/intro", "/about.html") for h in ("www.example.com", "example.com")]
    locale = [(p, "", {"accept-language": lang, "cookie": c}) for p in ("/", "/docs")
              for lang, c in (("fr-FR,fr;q=0.9", ""), ("de", "NEXT_LOCALE=de"), ("en", ""))]
    return [
        ("SPA fallback", {"rewrites": [{"source": "/(.*)", "destination": "/index.html"}]}, paths),
        ("SPA under /app", {"rewrites": [{"source": "/app/:path*", "destination": "/app/index.html"}],
                            "cleanUrls": True}, paths),
        ("www to apex", {"redirects": [{"source": "/:path(.*)", "has": [{"type": "host", "value": "www.example.com"}],
                                        "destination": "https://example.com/:path", "permanent": True}]}, www),
        ("locale redirects", {"redirects": [
            {"source": "/", "has": [{"type": "cookie", "key": "NEXT_LOCALE", "value": "(?<locale>fr|de)"}],
             "destination": "/:locale/", "permanent": False},
            {"source": "/", "has": [{"type": "header", "key": "accept-language", "value": "(?<lang>fr|de).*"}],
             "destination": "/:lang/", "permanent": False}]}, locale),
        ("immutable assets", {"headers": [{"source": "/assets/(.*)", "headers": [immutable]}]}, paths),
        ("security headers", {"headers": [{"source": "/(.*)", "headers": security}], "cleanUrls": True}, paths),
        ("clean URLs and trailing slash", {"cleanUrls": True, "trailingSlash": True,
                                           "redirects": [{"source": "/old-blog/:slug", "destination": "/blog/:slug"}]},
         [*paths, "/old-blog/first-post", "/blog/first-post.html"]),
        ("old URL map", {"redirects": [{"source": f"/old/{i}", "destination": f"/docs/page-{i}", "statusCode": 301}
                                       for i in range(300)]}, [f"/old/{i}" for i in range(0, 300, 7)] + ["/old/x"]),
        ("docs prefix", {"redirects": [{"source": "/documentation/:path*", "destination": "/docs/:path*"}],
                         "rewrites": [{"source": "/docs/:page", "destination": "/docs/:page.html"}]},
         ["/documentation", "/documentation/intro", "/docs/intro", "/docs/nope"]),
    ]
