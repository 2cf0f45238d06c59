"""The answer wing: one question's path, one module per stage, in the order they run.

conversation -> question -> retrieve -> context -> prompts/reader -> check/ -> reply, run by
the facade ``service.AnswerService``. Nothing here imports a service, an adapter or the claim
check (tests/test_layout.py).
"""
