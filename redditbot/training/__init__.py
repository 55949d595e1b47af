"""Learning a subreddit's style: datasets from the store, fine-tuning, evaluation, model cards.

``dataset`` builds context → reply pairs in the generator's prompt format (no torch);
``train`` fine-tunes and evaluates (the torch adapter); ``commands`` adds ``train`` and
``export-dataset`` to the command line. Importing this package imports no torch.
"""
