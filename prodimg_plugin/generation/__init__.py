"""Generation jobs: the job runner (claim, lease, commit once, retry, reap) and what runs in a job: variants, attribute edits, enhancement, their confidence, rate limits and review."""
