"""gjj: the Housing Provident Fund (住房公积金) online-services API on AWS Chalice.

Small on purpose: create the app, register the routes and schedules. Every cold start of the API and of each
scheduled function pays for this module, so it loads no more than routing needs (issue 18): a route's handler module
is imported by its first request (chalicelib.handlers.routes), the city policy is read and validated on first use
(chalicelib.policy.get), and a bad policy file fails `chalice package`, which writes the schedule of reprice-loans
from it (_JobCron), before it fails a request.
"""

import importlib

from chalice import Chalice, Cron

from chalicelib import clock, handlers, jobs, log, settings
from chalicelib.http.api import dispatch

app = Chalice(app_name="gjj", configure_logs=False)   # logs: chalicelib.log (JSON, masked) only
app.api.binary_types.append("application/pdf")
app.api.binary_types.append("image/png")


def _route(module_name: str, method: str, path: str, name: str):
    """The view of one route: imports its handler module on the first request (then Python's module cache)."""
    def view(**path_params: str):
        route, fn = importlib.import_module(module_name).api.views[(method, path)]
        return dispatch(route, fn, app.current_request, path_params)

    view.__name__ = name
    return view


for _module, _method, _path, _name in handlers.routes():
    app.route(_path, methods=[_method], content_types=["application/json"])(_route(_module, _method, _path, _name))

if settings.get().is_local:   # the web hall page; in dev/prod it is the static site of deploy/template.py
    from chalicelib import webhall

    app.register_blueprint(webhall.blueprint)


class _JobCron(Cron):
    """A job's cron, whose fields are read when Chalice writes the schedule (``chalice package``), not at every cold
    start: one of them comes from the policy (jobs.Job.cron)."""

    def __init__(self, job: jobs.Job):
        self.job = job

    FIELDS = ("minutes", "hours", "day_of_month", "month", "day_of_week", "year")

    def __getattr__(self, name: str):   # only for what __init__ did not set: the six fields
        if name not in self.FIELDS or "job" not in self.__dict__:
            raise AttributeError(name)
        return getattr(Cron(*self.job.cron), name)


def _schedule(job: jobs.Job):
    def handler(event):
        token = log.correlation_id.set(getattr(event, "event_id", None))   # the EventBridge event id
        try:
            remaining = getattr(event.context, "get_remaining_time_in_millis", None)
            return jobs.run(job.name, clock.now(), jobs.budget_ms(remaining()) if remaining else None)
        finally:
            log.correlation_id.reset(token)

    handler.__name__ = job.function_name
    return app.schedule(_JobCron(job), name=job.function_name,
                        description=job.description)(handler)


for _job in jobs.JOBS.values():
    globals()[_job.function_name] = _schedule(_job)


# The worker of the jobs that fan out (chalicelib.jobs_fanout): one shard's message at a time. In the stage's
# template its event source is the JobsQueue of deploy/template.py (whose name this repeats), which dead-letters a
# message after three failed receives.
@app.on_sqs_message(queue=settings.get().jobs_queue, batch_size=1, name="job_worker")
def job_worker(event):
    from chalicelib import fanout, jobs_fanout
    from chalicelib.adapters import queue as work_queue

    remaining = getattr(event.context, "get_remaining_time_in_millis", None)
    for record in event:
        token = log.correlation_id.set(record.to_dict().get("messageId"))
        try:
            with fanout.deadline(jobs.budget_ms(remaining()) if remaining else None):
                jobs_fanout.work(work_queue.parse(record.body))
        finally:
            log.correlation_id.reset(token)
