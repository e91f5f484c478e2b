"""mmroute's Streamlit app, as installed: ``mmroute app`` runs this file (see :mod:`mmroute.app`)."""

from mmroute.app.ui.main import main

main()
