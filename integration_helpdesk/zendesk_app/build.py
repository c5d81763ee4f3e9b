#!/usr/bin/env python3
"""Build the Zendesk sidebar app for one Odoo address (standard library only).

    python3 integration_helpdesk/zendesk_app/build.py --odoo-url https://odoo.example.com

writes ``odoo-billing-zendesk-app.zip`` (``--output`` to choose), ready for
Admin Center > Apps and integrations > Zendesk Support apps > Upload private
app. Zendesk sends the secure setting (the billing-context key) only to the
domains of the manifest's ``domainWhitelist``: the build puts the host of
``--odoo-url`` there. The zip holds ``manifest.json``, ``assets/`` and
``translations/``, checked first (the files ZAF needs, the parameters the
app reads); entries have a fixed date, so one address always gives the same
bytes.
"""

import argparse
import io
import json
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

APP_DIR = Path(__file__).resolve().parent
REQUIRED = (
    "manifest.json",
    "translations/en.json",
    "assets/iframe.html",
    "assets/main.js",
    "assets/main.css",
    "assets/logo.png",
    "assets/logo-small.png",
)
#: settings the app reads; the token must be secure (never sent to browsers)
PARAMETERS = {"billing_context_url": False, "token": True}
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
DEFAULT_OUTPUT = "odoo-billing-zendesk-app.zip"


class BuildError(Exception):
    """The app cannot be built as asked (a readable reason)."""


def odoo_host(odoo_url):
    """The host Zendesk may send the secure setting to. :raise BuildError:"""
    parts = urlsplit((odoo_url or "").strip())
    if parts.scheme != "https" or not parts.hostname:
        raise BuildError(
            f"--odoo-url must be the https address of Odoo, e.g. https://odoo.example.com (got {odoo_url!r})"
        )
    return parts.hostname + (f":{parts.port}" if parts.port else "")


def manifest_for(odoo_url, app_dir=APP_DIR):
    """The manifest with ``domainWhitelist`` set to Odoo's host. :raise BuildError:"""
    manifest = json.loads((app_dir / "manifest.json").read_text())
    parameters = {param["name"]: bool(param.get("secure")) for param in manifest.get("parameters", [])}
    if parameters != PARAMETERS:
        raise BuildError(f"manifest parameters must be {PARAMETERS} (name: secure), found {parameters}")
    manifest["domainWhitelist"] = [odoo_host(odoo_url)]
    return manifest


def build_zip(odoo_url, app_dir=APP_DIR):
    """The app's zip (bytes) for ``odoo_url``. :raise BuildError:"""
    missing = [name for name in REQUIRED if not (app_dir / name).is_file()]
    if missing:
        raise BuildError(f"missing app files: {', '.join(missing)}")
    manifest = manifest_for(odoo_url, app_dir)
    files = sorted(
        path.relative_to(app_dir).as_posix()
        for folder in ("assets", "translations")
        for path in (app_dir / folder).rglob("*")
        if path.is_file()
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = [("manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())]
        entries += [(name, (app_dir / name).read_bytes()) for name in files]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the Odoo billing Zendesk app (a zip to upload in Zendesk).")
    parser.add_argument("--odoo-url", required=True, help="https address of Odoo, as the helpdesk reaches it")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"zip to write (default: {DEFAULT_OUTPUT})")
    args = parser.parse_args(argv)
    try:
        data = build_zip(args.odoo_url)
    except BuildError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    Path(args.output).write_bytes(data)
    sys.stdout.write(f"{args.output}: {len(data)} bytes, for {odoo_host(args.odoo_url)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
