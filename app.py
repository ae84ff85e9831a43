"""gjj: the Housing Provident Fund (住房公积金) online-services API on AWS Chalice.

Small on purpose: create the app, validate the city policy, register the blueprints and schedules.
"""

import importlib

from chalice import Chalice, Cron

from chalicelib import clock, jobs, log, policy, settings
from chalicelib.handlers import BLUEPRINTS

app = Chalice(app_name="gjj", configure_logs=False)   # logs: chalicelib.log (JSON, masked) only
app.api.binary_types.append("application/pdf")
app.api.binary_types.append("image/png")

policy.get()  # fail fast on a bad policy file

for module_name in BLUEPRINTS:
    app.register_blueprint(importlib.import_module(module_name).api.blueprint)

if settings.get().is_local:   # the web hall page; in dev/prod it is the static site of deploy/template.py
    from chalicelib import webhall

    app.register_blueprint(webhall.blueprint)


def _schedule(job: jobs.Job):
    def handler(event):
        token = log.correlation_id.set(getattr(event, "event_id", None))   # the EventBridge event id
        try:
            remaining = getattr(event.context, "get_remaining_time_in_millis", None)
            return jobs.run(job.name, clock.now(), jobs.budget_ms(remaining()) if remaining else None)
        finally:
            log.correlation_id.reset(token)

    handler.__name__ = job.function_name
    return app.schedule(Cron(*job.cron), name=job.function_name,
                        description=job.description)(handler)


for _job in jobs.JOBS.values():
    globals()[_job.function_name] = _schedule(_job)
