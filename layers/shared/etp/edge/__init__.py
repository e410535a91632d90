"""The edge shared by every function: HTTP (auth, CORS, errors), settings, scheduled jobs, observability."""
