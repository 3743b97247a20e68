"""The background pipeline (job shells): rq jobs that turn stored reports into processed case
versions, the stage chain by function reference, the worker and the periodic scheduler."""
