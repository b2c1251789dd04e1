package service

import (
	"strings"
	"testing"
	"time"
)

func agent(id string, cap int, skills ...string) *Agent {
	return &Agent{ID: id, Name: id, Skills: skills, Presence: Online, Capacity: cap}
}

func TestDecide(t *testing.T) {
	r := NewRouter(DefaultQueues(time.Time{}), []*Agent{agent("a1", 2, SkillFraud), agent("a2", 2, SkillGeneral), agent("a3", 1, SkillElderlyCare), agent("a4", 1, SkillDisputes), agent("a5", 1, SkillRepayment)})
	tests := []struct {
		name     string
		in       RouteInput
		queue    string
		priority int
		reason   string
	}{
		{"self-service", RouteInput{}, "", 0, "自助"},
		{"scam", RouteInput{Warnings: []Warning{{Kind: ScamVictim, Score: 0.8, Type: "impersonated_police"}}}, "fraud", PriorityUrgent, "疑似正在被骗"},
		{"self harm beats complaint", RouteInput{Warnings: []Warning{{Kind: ComplaintRisk, Score: 0.7, Type: "complaint"}, {Kind: Vulnerable, Score: 0.95, Type: "self_harm"}}}, "elderly_care", PriorityUrgent, "轻生"},
		{"regulator", RouteInput{Warnings: []Warning{{Kind: ComplaintRisk, Score: 0.7, Type: "regulator"}}}, "disputes", PriorityHigh, "投诉"},
		{"plain complaint", RouteInput{Warnings: []Warning{{Kind: ComplaintRisk, Score: 0.6, Type: "complaint"}}}, "disputes", PriorityRaised, "投诉"},
		{"debt", RouteInput{Warnings: []Warning{{Kind: Vulnerable, Score: 0.6, Type: "debt"}}}, "repayment", PriorityRaised, "债务"},
		{"elderly", RouteInput{Warnings: []Warning{{Kind: Vulnerable, Score: 0.7, Type: "elderly"}}}, "elderly_care", PriorityHigh, "老年"},
		{"human on a repayment question", RouteInput{Human: "客户要求转人工", Category: "repayment"}, "repayment", PriorityRoutine, "客户要求转人工"},
		{"vulnerable complaint moves up", RouteInput{Warnings: []Warning{{Kind: ComplaintRisk, Score: 0.6, Type: "complaint"}, {Kind: Vulnerable, Score: 0.6, Type: "debt"}}}, "disputes", PriorityHigh, "优先级提高"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := r.Decide(tt.in)
			if rt.Queue != tt.queue || rt.Priority != tt.priority || !strings.Contains(rt.Reason, tt.reason) {
				t.Errorf("Decide = %+v, want queue %q priority %d reason containing %q", rt, tt.queue, tt.priority, tt.reason)
			}
			if rt.Reason == "" {
				t.Error("a route without a reason")
			}
		})
	}
}

func TestRoundRobinAndLeastLoaded(t *testing.T) {
	now := time.Now()
	r := NewRouter(DefaultQueues(now), []*Agent{agent("f1", 5, SkillFraud), agent("f2", 5, SkillFraud), agent("f3", 5, SkillFraud),
		agent("g1", 2, SkillGeneral), agent("g2", 4, SkillGeneral)})
	var got []string
	for i := range 6 {
		rt := r.Assign("s"+string(rune('a'+i)), Route{Queue: "fraud", Priority: 1, Reason: "x"}, now)
		got = append(got, rt.AgentID)
	}
	if strings.Join(got, ",") != "f1,f2,f3,f1,f2,f3" {
		t.Errorf("round robin gave %v", got)
	}
	got = nil
	for i := range 4 {
		rt := r.Assign("g"+string(rune('a'+i)), Route{Queue: "general", Priority: 4, Reason: "x"}, now)
		got = append(got, rt.AgentID)
	}
	// least loaded by share of capacity: g1 0/2 (tie → lower id), g2 0/4, g2 1/4 < g1 1/2, then g1 1/2 = g2 2/4 → g1.
	if strings.Join(got, ",") != "g1,g2,g2,g1" {
		t.Errorf("least loaded gave %v", got)
	}
}

func TestOverflowWaitAndDrain(t *testing.T) {
	now := time.Now()
	r := NewRouter(DefaultQueues(now), []*Agent{agent("f1", 1, SkillFraud), agent("d1", 1, SkillDisputes)})
	a := r.Assign("s1", Route{Queue: "fraud", Priority: 1, Reason: "scam"}, now)
	if a.AgentID != "f1" || a.Waiting {
		t.Fatalf("first fraud session = %+v", a)
	}
	b := r.Assign("s2", Route{Queue: "fraud", Priority: 1, Reason: "scam"}, now)
	if b.AgentID != "d1" || b.OverflowFrom != "fraud" || b.Queue != "disputes" || !strings.Contains(b.Reason, "溢出") {
		t.Fatalf("overflow session = %+v", b)
	}
	// Decide sees no room anywhere now.
	if d := r.Decide(RouteInput{Warnings: []Warning{{Kind: ScamVictim, Score: 0.9}}}); !d.Waiting || !strings.Contains(d.Reason, "排队") {
		t.Errorf("Decide with no room = %+v", d)
	}
	c := r.Assign("s3", Route{Queue: "fraud", Priority: PriorityRoutine, Reason: "x"}, now)
	d := r.Assign("s4", Route{Queue: "fraud", Priority: PriorityUrgent, Reason: "x"}, now.Add(time.Second))
	if !c.Waiting || !d.Waiting || c.AgentID != "" {
		t.Fatalf("waiting sessions = %+v %+v", c, d)
	}
	if q := queueState(r, "fraud"); q.Waiting != 2 || q.Load != 1 || q.Capacity != 1 {
		t.Errorf("fraud queue state = %+v", q)
	}
	// Freeing f1 gives the urgent waiter (s4) the seat although s3 waited longer.
	as := r.Release("s1")
	if len(as) != 1 || as[0].Session != "s4" || as[0].Agent != "f1" {
		t.Fatalf("after release: %+v", as)
	}
	if as := r.Release("s1"); len(as) != 0 {
		t.Errorf("second release assigned %+v", as)
	}
	// A new agent coming online takes the next waiter.
	as = r.SetAgent(agent("f2", 1, SkillFraud))
	if len(as) != 1 || as[0].Session != "s3" || as[0].Agent != "f2" {
		t.Fatalf("after a new agent: %+v", as)
	}
	// Presence: an agent going away takes nothing new.
	away := agent("f2", 3, SkillFraud)
	away.Presence = Away
	r.SetAgent(away)
	if r.Agent("f2").Load != 1 {
		t.Errorf("load lost on presence change: %+v", r.Agent("f2"))
	}
	if e := r.Assign("s5", Route{Queue: "fraud", Priority: 1, Reason: "x"}, now); !e.Waiting {
		t.Errorf("an away agent took a session: %+v", e)
	}
}

func queueState(r *Router, name string) QueueState {
	for _, q := range r.Queues() {
		if q.Name == name {
			return q
		}
	}
	return QueueState{}
}

func TestValidateQueueAndAgent(t *testing.T) {
	if fe := ValidateQueue(&Queue{Name: "Bad Name", Strategy: "fifo"}); len(fe) != 3 {
		t.Errorf("ValidateQueue = %v, want name, skills, strategy", fe)
	}
	if fe := ValidateQueue(&Queue{Name: "q", Skills: []string{"x"}, Strategy: RoundRobin, Overflow: "q"}); len(fe) != 1 || fe[0].Field != "overflow" {
		t.Errorf("self overflow: %v", fe)
	}
	if fe := ValidateAgent(&Agent{ID: "a 1", Presence: "busy", Capacity: -1}); len(fe) != 3 {
		t.Errorf("ValidateAgent = %v", fe)
	}
	if fe := ValidateAgent(agent("a1", 3, "fraud")); len(fe) != 0 {
		t.Errorf("good agent: %v", fe)
	}
}
