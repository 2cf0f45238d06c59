"""The claim check: which indexed passages support a pasted claim, contradict or qualify it
(``checker``), judged word by word (``judge``) and on the parse (``predicates``). It builds on
the answer wing's citable sentences; the answer wing never imports it."""
