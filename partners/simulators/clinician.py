"""Simulated clinicians of the medical partner, for the demo: they "examine" a traveller at the appointment and
produce results like real ones would, deterministically per person and attempt. Only this module writes
findings; they are synthetic and say nothing about any real person."""

from __future__ import annotations

from datetime import date, datetime

from domain.case import FunctionalNeed
from domain.medical import AssessmentResult, FitnessResult, ScreeningResult, TbClass
from partners.simulators.draws import Draws

# Cumulative shares on a first assessment; the rest is class none.
TB_CLASS_SHARES = ((TbClass.A, 0.03), (TbClass.B1, 0.11), (TbClass.B2, 0.12), (TbClass.B0, 0.30))
# Independent chances of each functional need found at an assessment.
NEED_CHANCES = (
    (FunctionalNeed.WHEELCHAIR, 0.04),
    (FunctionalNeed.OXYGEN, 0.01),
    (FunctionalNeed.MEDICAL_ESCORT, 0.01),
    (FunctionalNeed.STRETCHER, 0.002),
)
UNFIT_FIRST_CHECK_RATE = 0.04
FITNESS_WHEELCHAIR_RATE = 0.01
FINDINGS = {
    TbClass.NONE: "Chest X-ray normal. No signs or symptoms of TB. Vaccinations reviewed.",
    TbClass.A: "Chest X-ray suggestive of active pulmonary TB; sputum smear positive. Treatment started.",
    TbClass.B0: "Pulmonary TB, directly observed therapy completed. Sputum cultures negative.",
    TbClass.B1: "Chest X-ray findings consistent with inactive TB; sputum smears and cultures negative.",
    TbClass.B2: "Latent TB infection (IGRA positive), chest X-ray normal.",
    TbClass.B3: "Contact of a TB case; evaluation negative.",
}
PHYSICIANS = 12


class SimulatedClinician:
    def __init__(self, seed: int) -> None:
        self.draws = Draws(seed)

    def assessment(self, person_id: str, exam_date: date, attempt: int = 1) -> AssessmentResult:
        tb_class = self._tb_class(person_id, attempt)
        needs = [need for need, rate in NEED_CHANCES if self.draws.chance(rate, "need", need, person_id)]
        if tb_class is not TbClass.NONE:
            needs.append(FunctionalNeed.FOLLOW_UP)  # classes B0-B3 are followed up after arrival
        return AssessmentResult(
            person_id=person_id,
            exam_date=exam_date,
            tb_class=tb_class,
            findings=FINDINGS[tb_class],
            functional_needs=needs,
            examined_by=self._physician(person_id),
        )

    def screening(self, person_id: str, screened_on: date) -> ScreeningResult:
        return ScreeningResult(
            person_id=person_id,
            screened_on=screened_on,
            cleared=True,
            findings="Pre-departure screening: chest X-ray stable, sputum smears negative.",
            examined_by=self._physician(person_id),
        )

    def fitness(self, person_id: str, checked_at: datetime, attempt: int = 1) -> FitnessResult:
        fit = attempt > 1 or not self.draws.chance(UNFIT_FIRST_CHECK_RATE, "unfit", person_id)
        needs = [FunctionalNeed.WHEELCHAIR] if self.draws.chance(FITNESS_WHEELCHAIR_RATE, "pec", person_id) else []
        return FitnessResult(
            person_id=person_id,
            checked_at=checked_at,
            fit=fit,
            functional_needs=needs,
            findings="Fit to travel." if fit else "Acute febrile illness at pre-embarkation check; not fit to fly.",
            examined_by=self._physician(person_id),
        )

    def _tb_class(self, person_id: str, attempt: int) -> TbClass:
        if attempt > 1:
            # A re-exam follows treatment: never class A again, and treated TB is class B0.
            return TbClass.B0 if self._tb_class(person_id, 1) is TbClass.A else self._tb_class(person_id, 1)
        draw = self.draws.unit("tb_class", person_id)
        return next((tb for tb, share in TB_CLASS_SHARES if draw < share), TbClass.NONE)

    def _physician(self, person_id: str) -> str:
        return f"pp_{self.draws.below(PHYSICIANS, 'physician', person_id) + 1:02d}"
