"""Work orders in the application: runtime (calendar, rules), jobs, IVR intents, commands."""
