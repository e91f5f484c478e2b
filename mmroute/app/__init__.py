"""The Streamlit app, shipped inside the package (``pip install 'mmroute[app]'``, then ``mmroute app``).

- :mod:`mmroute.app.support`: what the app needs that is not UI (settings, safe uploads, tables);
- :mod:`mmroute.app.client`: the app's client of the home's ``mmroute serve``;
- :mod:`mmroute.app.turns`: chat turns answered on worker threads;
- :mod:`mmroute.app.ui`: the Streamlit pages (:func:`mmroute.app.ui.main.main` is the whole script);
- :func:`app_script`: the script file ``mmroute app`` hands to ``streamlit run``.

Importing this package imports no Streamlit.
"""

from __future__ import annotations

from pathlib import Path


def app_script() -> Path:
    """The installed app script (``mmroute/app/script/mmroute_app.py``)."""
    return Path(__file__).resolve().parent / "script" / "mmroute_app.py"
