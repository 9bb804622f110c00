"""audit's routes, one module per concern: an appeal's history and the exports (`history`),
integrity findings, checkpoints and proofs (`integrity`), projection replays (`replays`),
department measures, flags and queues (`measures`), and the auditor's HTML pages (`ui`,
rendered by `pages`). main.py joins their routers."""
