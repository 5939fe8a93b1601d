package worker

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/rolegate/rolegate/store/jobargs"
)

// ReviewStore is what the access review check needs of the store.
type ReviewStore interface {
	RemindReviews(ctx context.Context) (int, error)
	RevokeLapsedReviews(ctx context.Context) (int, error)
}

// CheckReviews does one round of access reviews: it revokes the live roles
// whose review went unanswered the grace after the reminder (through the
// revocation job, as a manual revoke does), then sends the reminders of
// the reviews that have fallen due. It returns how many of each. Workers
// running it at the same time neither remind twice nor revoke twice: the
// store claims each reminder and each revocation in a guarded statement.
func CheckReviews(ctx context.Context, st ReviewStore) (revoked, reminded int, err error) {
	if revoked, err = st.RevokeLapsedReviews(ctx); err != nil {
		return revoked, 0, err
	}
	reminded, err = st.RemindReviews(ctx)
	return revoked, reminded, err
}

func (j *jobs) review(ctx context.Context, _ *river.Job[jobargs.Review]) error {
	revoked, reminded, err := CheckReviews(ctx, j.st)
	if revoked > 0 || reminded > 0 {
		j.log.Info("access reviews checked", "revoked", revoked, "reminded", reminded)
	}
	return err
}
