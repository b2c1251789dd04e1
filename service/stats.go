package service

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Stats are satisfaction and resolution figures over a period.
type Stats struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Sessions int       `json:"sessions"`
	// SelfService counts sessions never handed to a person.
	SelfService int `json:"self_service"`
	HandedOff   int `json:"handed_off"`
	Closed      int `json:"closed"`
	// Resolved counts closed sessions marked resolved.
	Resolved int `json:"resolved"`
	// FCR is first-contact resolution: the share of closed sessions with a
	// known outcome that were resolved and not followed by another
	// session of the same customer within 7 days.
	FCR       *float64       `json:"fcr"`
	CSAT      *float64       `json:"csat"`
	CSATCount int            `json:"csat_count"`
	Warnings  map[string]int `json:"warnings"`
	Agents    []AgentStats   `json:"agents"`
	// Answers are the customers' verdicts on answers given in the period
	// (by the time of the verdict).
	Answers AnswerStats `json:"answers"`
}

// AgentStats are one agent's figures.
type AgentStats struct {
	AgentID   string   `json:"agent_id"`
	Sessions  int      `json:"sessions"`
	CSAT      *float64 `json:"csat"`
	CSATCount int      `json:"csat_count"`
	FCR       *float64 `json:"fcr"`
}

type fcrAcc struct{ n, ok, csatN, csatSum int }

func avg(sum, n int) *float64 {
	if n == 0 {
		return nil
	}
	v := math.Round(float64(sum)/float64(n)*1000) / 1000
	return &v
}

// ComputeStats computes Stats over the sessions opened in [from, to);
// sessions opened up to FCRWindow after to are read only to see whether a
// customer came back.
func ComputeStats(ss []*Session, from, to time.Time) *Stats {
	st := &Stats{From: from, To: to, Warnings: map[string]int{ScamVictim: 0, ComplaintRisk: 0, Vulnerable: 0}, Agents: []AgentStats{}}
	byCustomer := map[string][]time.Time{}
	for _, s := range ss {
		if s.CustomerID != "" {
			byCustomer[s.CustomerID] = append(byCustomer[s.CustomerID], s.OpenedAt)
		}
	}
	cameBack := func(s *Session) bool {
		if s.CustomerID == "" {
			return false
		}
		for _, t := range byCustomer[s.CustomerID] {
			if t.After(s.OpenedAt) && t.Sub(s.OpenedAt) <= FCRWindow {
				return true
			}
		}
		return false
	}
	total := fcrAcc{}
	agents := map[string]*fcrAcc{}
	agentSessions := map[string]int{}
	for _, s := range ss {
		if s.OpenedAt.Before(from) || !s.OpenedAt.Before(to) {
			continue
		}
		st.Sessions++
		for _, w := range s.Warnings {
			st.Warnings[w]++
		}
		var ag *fcrAcc
		if s.AgentID != "" {
			st.HandedOff++
			if agents[s.AgentID] == nil {
				agents[s.AgentID] = &fcrAcc{}
			}
			ag = agents[s.AgentID]
			agentSessions[s.AgentID]++
		} else if s.Status != StatusQueued {
			st.SelfService++
		}
		if s.CSAT != nil {
			total.csatN++
			total.csatSum += *s.CSAT
			if ag != nil {
				ag.csatN++
				ag.csatSum += *s.CSAT
			}
		}
		if s.Status != StatusClosed {
			continue
		}
		st.Closed++
		if s.Resolved == nil {
			continue
		}
		ok := *s.Resolved && !cameBack(s)
		if *s.Resolved {
			st.Resolved++
		}
		total.n++
		if ag != nil {
			ag.n++
		}
		if ok {
			total.ok++
			if ag != nil {
				ag.ok++
			}
		}
	}
	st.FCR, st.CSAT, st.CSATCount = avg(total.ok, total.n), avg(total.csatSum, total.csatN), total.csatN
	for id, a := range agents {
		st.Agents = append(st.Agents, AgentStats{AgentID: id, Sessions: agentSessions[id], CSAT: avg(a.csatSum, a.csatN), CSATCount: a.csatN, FCR: avg(a.ok, a.n)})
	}
	slices.SortFunc(st.Agents, func(a, b AgentStats) int { return strings.Compare(a.AgentID, b.AgentID) })
	return st
}
