"""Background jobs on procrastinate (PostgreSQL): the queue's app, its tasks and the worker
(docs/jobs.md). On SQLite nothing here runs: the same services are called inline."""
