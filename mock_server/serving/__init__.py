"""``videomock serve``: the app under gunicorn, and the work pool its worker threads take turns in."""
