from tests.e2e.organizer.conftest import org, org_both  # noqa: F401  (the same fixtures)
