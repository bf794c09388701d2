"""AgentDesk billing: the billing run, invoice numbering and the background worker.

* :mod:`~agentdesk.billing.periods`: billing periods ("2026-11") and when a subscription is due;
* :mod:`~agentdesk.billing.plan`: one customer's invoice for a period, computed (pure, no database);
* :mod:`~agentdesk.billing.loader` / :mod:`~agentdesk.billing.writer`: the run's reads and writes;
* :mod:`~agentdesk.billing.run`: ``run_billing`` with abort/progress/log hooks, batched and exactly once;
* :mod:`~agentdesk.billing.numbering`: invoice series and printed numbers (the database numbers);
* :mod:`~agentdesk.billing.documents`: stored invoices as the PDF layer's documents;
* :mod:`~agentdesk.billing.jobs` / :mod:`~agentdesk.billing.worker`: the job queue and ``agentdesk worker``.
"""
