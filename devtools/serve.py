"""Start Streamlit for app.py with its legacy "pages/ folder" mode switched off.

Streamlit treats a folder named pages/ beside the entry script as old-style pages, and until the first
st.navigation call in the process it could run such a file directly, without app.py's login gate.
Our pages/ holds modules with render(ctx), registered only through st.navigation, so the legacy mode
is turned off before the server starts: every run goes through app.py.

    python -m devtools.serve [streamlit run options...]
"""
from __future__ import annotations

import sys

from streamlit.runtime.pages_manager import PagesManager


def disable_legacy_pages_folder() -> None:
    PagesManager.uses_pages_directory = False
    original_init = PagesManager.__init__
    if getattr(original_init, "_mifkad_patched", False):
        return

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._mifkad_patched = True
    PagesManager.__init__ = init


def main() -> None:
    disable_legacy_pages_folder()
    from streamlit.web import cli
    sys.argv = ["streamlit", "run", "app.py", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
