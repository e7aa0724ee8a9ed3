"""Agent queues, agents' presence, callbacks and the satisfaction follow-up (issue 6).

The console (another issue) builds on `hotline.queues.console`: its functions are the
agent console's queries and actions.
"""
