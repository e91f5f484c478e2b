"""Pages of the mmroute Streamlit app (UI only; logic in :mod:`mmroute.app_support`)."""
