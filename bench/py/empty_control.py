"""A control whose hooks do nothing: the baseline that isolates what chaoslib's
control dispatch costs from what a tracing control itself costs. Same
signatures as chaostracing.control's hooks."""


def configure_control(configuration=None, secrets=None, settings=None, experiment=None, **kwargs):
    pass


def cleanup_control():
    pass


def _before(context, configuration=None, secrets=None, **kwargs):
    pass


def _after(context, state, configuration=None, secrets=None, **kwargs):
    pass


before_experiment_control = before_hypothesis_control = before_method_control = _before
before_rollback_control = before_activity_control = _before
after_experiment_control = after_hypothesis_control = after_method_control = _after
after_rollback_control = after_activity_control = _after
