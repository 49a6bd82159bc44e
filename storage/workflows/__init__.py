"""Use cases: each checks with the domain, writes through the repositories and commits
once (`UnitOfWork.commit`, the only commit in the program); the caller talks to Telegram
afterwards. Reads that several rooms share (who is staff, where alerts go) live here too.
"""
