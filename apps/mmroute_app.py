"""mmroute's Streamlit app: chat with routed, step-wise, verified answers; manage knowledge bases.

Start it with ``mmroute app [--home DIR] [--port 8501]``: that starts (or reuses) the home's
``mmroute serve`` and runs the app installed with the package (:mod:`mmroute.app`), whose client
the app is, so the CLI works beside it. This file is the same app for ``streamlit run
apps/mmroute_app.py`` from a checkout, while ``mmroute serve`` runs for ``$MMROUTE_HOME`` (default
``~/.mmroute``).
"""

from mmroute.app.ui.main import main

main()
