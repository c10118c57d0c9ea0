"""Small helpers every app uses: the domain error (`errors`), `model_update` (`services`), spreadsheet-safe
CSV downloads (`csvsafe`) and the embedded e-mail outbox (`mail`)."""
