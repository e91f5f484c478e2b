"""The folder of the Streamlit script ``mmroute app`` runs (``streamlit run`` puts a script's folder first
on ``sys.path``, so this one holds nothing else that could shadow a module)."""
