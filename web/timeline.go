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
	// One pass over the event's data (a list page describes a hundred
	// events), each value put in its place in the line.
	var details [len(eventDetailKeys)]string
	var step [3]string // resource, name, outcome
	var diff, changes []string
	for k, v := range e.Data {
		s, _ := v.(string)
		switch k {
		case "comment":
			l.Quote = s
		case "resource":
			step[0] = s
		case "name":
			step[1] = s
		case "outcome":
			step[2] = s
		case "diff":
			diff = eventLines(v)
		case "changes":
			changes = eventLines(v)
		case "policy_diff":
			l.PolicyDiff = eventLines(v)
		default:
			if i, ok := eventDetailIndex[k]; ok {
				details[i] = s
			}
		}
	}
	if e.Kind == store.EventProvisionStep {
		l.Title = stepText(step[0], step[1], step[2])
	}
	for i, s := range details {
		if s != "" {
			l.Detail = append(l.Detail, eventDetailWords[i]+": "+s)
		}
	}
	l.Detail = append(append(l.Detail, diff...), changes...)
	if l.PolicyDiff == nil {
		l.PolicyDiff = []string{}
	}
	return l
}

// eventDetailKeys are the event data shown as "key words: value", in this
// order; eventDetailWords their words.
var (
	eventDetailKeys  = [...]string{"account", "role_arn", "instance_profile_arn", "arn", "reason", "expires_at", "final_status"}
	eventDetailWords = func() (w [len(eventDetailKeys)]string) {
		for i, k := range eventDetailKeys {
			w[i] = strings.ReplaceAll(k, "_", " ")
		}
		return w
	}()
	eventDetailIndex = func() map[string]int {
		m := map[string]int{}
		for i, k := range eventDetailKeys {
			m[k] = i
		}
		return m
	}()
)

// eventLines are a list in an event's data, each item as text.
func eventLines(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
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
