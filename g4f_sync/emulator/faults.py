"""Canned error answers any emulated service can give: rate limit, Cloudflare, server error,
a JSON error."""

from __future__ import annotations

import json
import secrets

from .exchange import Exchange

__all__ = [
    "send_cloudflare_challenge",
    "send_json_error",
    "send_rate_limit",
    "send_server_error",
]

CLOUDFLARE_CHALLENGE_HTML = """<!DOCTYPE html><html lang="en-US"><head>\
<title>Just a moment...</title>\
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\
<meta http-equiv="X-UA-Compatible" content="IE=Edge">\
<meta name="robots" content="noindex,nofollow">\
<meta name="viewport" content="width=device-width,initial-scale=1">\
<style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15;color:#313131;\
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}body{display:flex;\
flex-direction:column;height:100vh;min-height:100vh}.main-content{margin:8rem auto;\
max-width:60rem;padding-left:1.5rem}.h2{font-size:1.5rem;font-weight:500;line-height:2.25rem}\
#cf-please-wait{margin-top:2rem}.spacer{margin:2rem 0}</style>\
<meta http-equiv="refresh" content="390"></head><body class="no-js">\
<div class="main-wrapper" role="main"><div class="main-content">\
<h1 class="zone-name-title h1">{host}</h1>\
<h2 id="challenge-running" class="h2">Checking if the site connection is secure</h2>\
<noscript><div id="challenge-error-title"><div class="h2"><span id="challenge-error-text">\
Enable JavaScript and cookies to continue</span></div></div></noscript>\
<div id="cf-please-wait"><div id="spinner"><div id="cf-bubbles"><div class="bubbles"></div>\
<div class="bubbles"></div><div class="bubbles"></div></div></div>\
<p data-translate="please_wait" id="cf-spinner-please-wait">Please stand by, while we are \
checking your browser...</p></div>\
<div id="challenge-body-text" class="core-msg spacer">{host} needs to review the security of \
your connection before proceeding.</div>\
<form id="challenge-form" action="/?__cf_chl_f_tk={token}" method="POST" \
enctype="application/x-www-form-urlencoded"><input type="hidden" name="md" value="{token}">\
</form></div></div>\
<script>(function(){window._cf_chl_opt={cvId:'3',cZone:"{host}",cType:'managed',\
cNounce:'{nonce}',cRay:'{ray}',cHash:'{token}',cUPMDTk:"\\/?__cf_chl_tk={token}",\
cFPWv:'b',cTTimeMs:'1000',cMTimeMs:'390000',cTplV:5,cTplB:'cf',cRq:{ru:'',ra:'',rm:'UE9TVA==',\
d:'',t:'',cT:Math.floor(Date.now()/1000),m:'',i1:'',i2:'',zh:'',uh:'',hh:''}};\
var cpo=document.createElement('script');cpo.src='/cdn-cgi/challenge-platform/h/b/orchestrate/\
chl_page/v1?ray={ray}';window._cf_chl_opt.cOgUHash=location.hash===''&&location.href.indexOf('#')!==-1\
?'#':location.hash;document.getElementsByTagName('head')[0].appendChild(cpo);}());</script>\
</body></html>"""


def send_rate_limit(exchange: Exchange, retry_after: str = "1") -> None:
    """429 with ``Retry-After`` and a small JSON body."""
    body = {"error": "rate_limited", "message": "Too many requests, please try again later."}
    exchange.respond(
        429,
        json.dumps(body),
        content_type="application/json",
        headers={"Retry-After": retry_after},
    )


def send_cloudflare_challenge(exchange: Exchange, host: str = "") -> None:
    """403 with a Cloudflare "managed challenge" page and Cloudflare's headers."""
    host = host or exchange.request.headers.get("Host", "localhost").split(":")[0]
    ray = secrets.token_hex(8)
    page = (
        CLOUDFLARE_CHALLENGE_HTML.replace("{host}", host)
        .replace("{ray}", ray)
        .replace("{token}", secrets.token_urlsafe(32))
        .replace("{nonce}", secrets.token_hex(3))
    )
    exchange.respond(
        403,
        page,
        content_type="text/html; charset=UTF-8",
        headers={
            "Server": "cloudflare",
            "CF-RAY": f"{ray}-FRA",
            "cf-mitigated": "challenge",
            "Cache-Control": "private, max-age=0, no-store, no-cache, must-revalidate, "
            "post-check=0, pre-check=0",
            "Expires": "Thu, 01 Jan 1970 00:00:01 GMT",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Referrer-Policy": "same-origin",
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


def send_server_error(exchange: Exchange) -> None:
    """500 with a short text body."""
    exchange.respond(500, "Internal Server Error\n")


def send_json_error(exchange: Exchange, status: int, message: str) -> None:
    """``status`` with ``{"error": message}`` as ``application/json``: the emulator's own
    complaints (a bad query, a bad body, invalid options)."""
    exchange.respond(status, json.dumps({"error": message}), content_type="application/json")
