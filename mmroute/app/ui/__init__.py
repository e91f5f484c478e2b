"""Pages of the mmroute Streamlit app (UI only; logic in :mod:`mmroute.app.support`, :mod:`mmroute.app.client`
and :mod:`mmroute.app.turns`)."""
