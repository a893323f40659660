"""Who is asking: the request's token reduced to what network services and selectors need."""
from dataclasses import dataclass, field

from apps.core import policy


@dataclass(frozen=True)
class NetContext:
    project_id: str | None
    user_id: str | None = None
    roles: tuple = ()
    credentials: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_admin(self):
        return "admin" in self.roles

    @classmethod
    def from_token(cls, token):
        return cls(project_id=token.project_id, user_id=token.user_id, roles=tuple(token.role_names),
                   credentials=token.credentials())

    @classmethod
    def admin(cls, project_id=None):
        """The cloud itself (conductor work, compute asking on a user's behalf is not this)."""
        creds = {"project_id": project_id, "roles": ["admin", "member", "reader"], "user_id": None}
        return cls(project_id=project_id, roles=("admin", "member", "reader"), credentials=creds)

    def can(self, rule, target=None, *, do_raise=True):
        return policy.authorize(f"network:{rule}", self.credentials, target or {}, do_raise=do_raise,
                                message=policy.OSLO_MESSAGE)

    def enforce(self, rule, project_id):
        return self.can(rule, {"project_id": project_id, "tenant_id": project_id})
