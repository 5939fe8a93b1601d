package web

import (
	"fmt"
	"strings"

	"github.com/rolegate/rolegate/store"
)

// The request page's timeline: its events in words, and how each version ended.

// VersionOutcome is how a version that never went live, or stopped being
// the request's current one, ended, as its request's events tell it:
// rejected, cancelled or dropped (superseded by a removal); "" when
// nothing ended it, or its event is beyond the page's events.
func (v detailView) VersionOutcome(number int) store.Status {
	for _, e := range v.Events {
		if e.Version != number {
			continue
		}
		switch e.Kind {
		case store.EventChangeRejected:
			return store.StatusRejected
		case store.EventChangeCancelled:
			return store.StatusCancelled
		case store.EventSuperseded:
			return "dropped"
		}
	}
	return ""
}

// timelineSize is how many of a request's latest events its page shows: a
// role whose drift is repaired every hour for months has thousands.
const timelineSize = 500

// eventLine is one timeline entry in words. Quote is what a person wrote
// (a decision's comment), which pages show apart from rolegate's own words
// (userText), before the Detail. PolicyDiff is a change's policy diff,
// lines of code shown as they are after the Detail.
type eventLine struct {
	Title      string
	Quote      string
	Detail     []string
	PolicyDiff []string
	Kind       string
}

func describeEvent(e store.Event) eventLine {
	l := eventLine{Title: store.EventTitle(e.Kind), Kind: e.Kind}
	str := func(k string) string { s, _ := e.Data[k].(string); return s }
	l.Quote = str("comment")
	if e.Kind == store.EventProvisionStep {
		l.Title = stepText(str("resource"), str("name"), str("outcome"))
	}
	for _, k := range []string{"account", "role_arn", "instance_profile_arn", "arn", "reason", "expires_at", "final_status"} {
		if s := str(k); s != "" {
			l.Detail = append(l.Detail, strings.ReplaceAll(k, "_", " ")+": "+s)
		}
	}
	lines := func(k string) []string {
		list, _ := e.Data[k].([]any)
		out := make([]string, 0, len(list))
		for _, x := range list {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	l.Detail = append(l.Detail, lines("diff")...)
	l.Detail = append(l.Detail, lines("changes")...)
	l.PolicyDiff = lines("policy_diff")
	return l
}

// stepResources name the reconciler's resource kinds for people.
var stepResources = map[string]string{
	"role": "role", "inline-policy": "inline policy", "policy-attachment": "managed policy attachment",
	"instance-profile": "instance profile", "profile-role": "role in instance profile",
}

// stepText says what one provisioning step did to which resource: "inline
// policy rolegate-s3-access updated".
func stepText(resource, name, outcome string) string {
	words, ok := stepResources[resource]
	if !ok {
		words = strings.ReplaceAll(resource, "-", " ")
	}
	return strings.Join(strings.Fields(words+" "+name+" "+outcome), " ")
}
