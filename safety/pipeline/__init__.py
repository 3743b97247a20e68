"""The background pipeline: rq jobs that turn stored reports into processed case versions."""
