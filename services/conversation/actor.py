"""Who is acting, as far as permissions go: loaded once per turn (services/roles decides)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeaderScope:
    """One club a person leads: its grant, name, province and wards."""

    grant_id: int
    club_name: str
    province_code: str
    ward_codes: frozenset[str]


@dataclass(frozen=True)
class Actor:
    """A person as far as permissions go: admin flag, staff provinces, clubs led."""

    channel: str
    external_id: str
    is_admin: bool = False
    staff_provinces: frozenset[str] = frozenset()
    leader_scopes: tuple[LeaderScope, ...] = ()

    @property
    def is_staff(self) -> bool:
        """Staff of at least one province."""
        return bool(self.staff_provinces)

    @property
    def is_leader(self) -> bool:
        """Leader of at least one club."""
        return bool(self.leader_scopes)

    @property
    def is_privileged(self) -> bool:
        """Anything more than a citizen."""
        return self.is_admin or self.is_staff or self.is_leader

    @property
    def label(self) -> str:
        """How the audit log names them: "telegram:123"."""
        return f"{self.channel}:{self.external_id}"

    def leader_wards(self, province_code: str) -> frozenset[str]:
        """The wards of that province whose clubs they lead."""
        wards: set[str] = set()
        for scope in self.leader_scopes:
            if scope.province_code == province_code:
                wards |= scope.ward_codes
        return frozenset(wards)
