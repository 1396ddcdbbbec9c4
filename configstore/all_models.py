"""Import every module that defines tables, so Base.metadata is complete (Alembic, create_all)."""
import configstore.accounts  # noqa: F401
import configstore.audit  # noqa: F401
import configstore.award_models  # noqa: F401
import configstore.connections  # noqa: F401
import configstore.heartbeats  # noqa: F401
import configstore.models  # noqa: F401
import configstore.ratelimit  # noqa: F401
import configstore.wechat_models  # noqa: F401
