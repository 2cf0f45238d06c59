"""The checks of a pick, in the order they run: the words located in their sentence
(``align``), the candidate's features (``features``), the fitted answer model (``decide``),
the pick and the typed spans judged (``candidates``, ``verdicts``); sums, differences and
spans computed in code (``arithmetic``)."""
