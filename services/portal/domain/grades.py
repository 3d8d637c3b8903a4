"""What the public sees of a grade (domain.md §6, ``public_grade_display``): the letter with its
plain-language meaning (``grade``), the meaning alone (``label``), or nothing (``hidden``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# Plain words for a citizen standing at the door: what the grade says and what it means for them.
MEANINGS: dict[str, tuple[str, str]] = {
    "A": ("低风险", "该单位特种设备安全管理规范，信用风险低，监管部门以服务指导为主。"),
    "B": ("一般风险", "该单位特种设备安全管理基本规范，监管部门每年安排例行检查。"),
    "C": ("较高风险", "该单位存在较多安全管理问题，已列为重点监管，监管部门每季度现场检查。"),
    "D": ("高风险", "该单位存在严重安全管理问题，监管部门每月执法检查；如发现隐患请及时举报。"),
}
NOT_GRADED = ("暂未评级", "该单位尚未完成信用风险分级评价。")
HIDDEN = ("不公开", "本地区暂不公开信用风险等级。")


@dataclass(frozen=True)
class PublicGrade:
    display: str
    grade: str | None
    label: str
    meaning: str
    grade_date: date | None


def public_grade(grade: str | None, since: date | None, display: str) -> PublicGrade:
    """The grade as the policy lets the public see it; no grade yet is said plainly."""
    if display == "hidden":
        return PublicGrade(display, None, *HIDDEN, None)
    if grade not in MEANINGS:
        return PublicGrade(display, None, *NOT_GRADED, None)
    label, meaning = MEANINGS[grade]
    return PublicGrade(display, grade if display == "grade" else None, label, meaning, since)


def inspection_valid(status: str, next_due: date | None, today: date) -> bool:
    """In use and within its periodic inspection's validity (一检验) on ``today``."""
    return status == "in_use" and next_due is not None and next_due >= today
