package service

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Queue strategies.
const (
	RoundRobin  = "round_robin"
	LeastLoaded = "least_loaded"
)

// Agent presence.
const (
	Online  = "online"
	Away    = "away"
	Offline = "offline"
)

// Skills of the default queues.
const (
	SkillGeneral     = "general"
	SkillRepayment   = "repayment"
	SkillDisputes    = "disputes"
	SkillFraud       = "fraud"
	SkillElderlyCare = "elderly_care"
)

// Priorities: 1 is the most urgent; 0 means no human is needed.
const (
	PriorityUrgent  = 1
	PriorityHigh    = 2
	PriorityRaised  = 3
	PriorityRoutine = 4
)

// Queue is a line of work for agents with given skills.
type Queue struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Skills: an agent with any of them serves the queue.
	Skills   []string `json:"skills"`
	Strategy string   `json:"strategy"`
	// Overflow is the queue tried when no agent of this one has room.
	Overflow  string    `json:"overflow,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Agent is a human who takes hand-offs.
type Agent struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Skills    []string  `json:"skills"`
	Presence  string    `json:"presence"`
	Capacity  int       `json:"capacity"` // concurrent sessions
	UpdatedAt time.Time `json:"updated_at"`
	// Load is the number of sessions the agent holds now (not stored:
	// counted from the handed-off sessions).
	Load int `json:"load"`
}

// Route says where a human should pick a conversation up.
type Route struct {
	Queue    string `json:"queue"`
	Priority int    `json:"priority"`
	Reason   string `json:"reason"`
	// AgentID is set once a hand-off gave the session to an agent.
	AgentID string `json:"agent_id,omitempty"`
	// OverflowFrom names the queue first chosen when the route overflowed.
	OverflowFrom string `json:"overflow_from,omitempty"`
	// Waiting is true when no agent has room in the queue or its
	// overflow: the session waits its turn.
	Waiting bool `json:"waiting,omitempty"`
}

// DefaultQueues are the queues a new installation starts with.
func DefaultQueues(now time.Time) []*Queue {
	return []*Queue{
		{Name: "general", Description: "综合服务", Skills: []string{SkillGeneral}, Strategy: LeastLoaded, UpdatedAt: now},
		{Name: "repayment", Description: "还款与债务协商", Skills: []string{SkillRepayment}, Strategy: LeastLoaded, Overflow: "general", UpdatedAt: now},
		{Name: "disputes", Description: "争议与投诉", Skills: []string{SkillDisputes}, Strategy: LeastLoaded, Overflow: "general", UpdatedAt: now},
		{Name: "fraud", Description: "反诈劝阻", Skills: []string{SkillFraud}, Strategy: RoundRobin, Overflow: "disputes", UpdatedAt: now},
		{Name: "elderly_care", Description: "老年与关怀", Skills: []string{SkillElderlyCare}, Strategy: LeastLoaded, Overflow: "general", UpdatedAt: now},
	}
}

var namePattern = func(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || (c >= 'A' && c <= 'Z' && i > 0)) {
			return false
		}
	}
	return true
}

// ValidateQueue names every bad field of q.
func ValidateQueue(q *Queue) []xiaobao.FieldError {
	var fe []xiaobao.FieldError
	if !namePattern(q.Name) || strings.ToLower(q.Name) != q.Name {
		fe = append(fe, xiaobao.FieldError{Field: "name", Reason: "must be 1-64 characters of a-z, 0-9, '_', '-', '.'"})
	}
	if len(q.Skills) == 0 || len(q.Skills) > 20 {
		fe = append(fe, xiaobao.FieldError{Field: "skills", Reason: "must list 1-20 skills"})
	}
	for i, s := range q.Skills {
		if !namePattern(s) {
			fe = append(fe, xiaobao.FieldError{Field: fmt.Sprintf("skills[%d]", i), Reason: "must be 1-64 characters of a-z, 0-9, '_', '-', '.'"})
		}
	}
	if q.Strategy != RoundRobin && q.Strategy != LeastLoaded {
		fe = append(fe, xiaobao.FieldError{Field: "strategy", Reason: "must be round_robin or least_loaded"})
	}
	if q.Overflow == q.Name && q.Name != "" {
		fe = append(fe, xiaobao.FieldError{Field: "overflow", Reason: "must name another queue"})
	}
	if len(q.Description) > 200 {
		fe = append(fe, xiaobao.FieldError{Field: "description", Reason: "must be at most 200 bytes"})
	}
	return fe
}

// ValidateAgent names every bad field of a.
func ValidateAgent(a *Agent) []xiaobao.FieldError {
	var fe []xiaobao.FieldError
	if !namePattern(a.ID) {
		fe = append(fe, xiaobao.FieldError{Field: "id", Reason: "must be 1-64 characters of letters, digits, '_', '-', '.'"})
	}
	if len(a.Name) > 100 {
		fe = append(fe, xiaobao.FieldError{Field: "name", Reason: "must be at most 100 bytes"})
	}
	if len(a.Skills) > 20 {
		fe = append(fe, xiaobao.FieldError{Field: "skills", Reason: "must list at most 20 skills"})
	}
	for i, s := range a.Skills {
		if !namePattern(s) {
			fe = append(fe, xiaobao.FieldError{Field: fmt.Sprintf("skills[%d]", i), Reason: "must be 1-64 characters of a-z, 0-9, '_', '-', '.'"})
		}
	}
	if a.Presence != Online && a.Presence != Away && a.Presence != Offline {
		fe = append(fe, xiaobao.FieldError{Field: "presence", Reason: "must be online, away or offline"})
	}
	if a.Capacity < 0 || a.Capacity > 100 {
		fe = append(fe, xiaobao.FieldError{Field: "capacity", Reason: "must be 0-100 concurrent sessions"})
	}
	return fe
}

// RouteInput is what a routing decision reads.
type RouteInput struct {
	Warnings []Warning
	// Human is why a human is wanted regardless of warnings (the customer
	// asked for one, the bot is not confident after a clarifying
	// question), or "".
	Human string
	// Category is the FAQ category of the best answer, to pick the queue
	// of a human hand-off.
	Category string
}

type waiter struct {
	session  string
	priority int
	since    time.Time
}

// Router holds queues and agents and decides routes. It is safe for
// concurrent use.
type Router struct {
	mu     sync.Mutex
	queues map[string]*Queue
	agents map[string]*Agent
	// held maps session → agent, so a release is exact and idempotent.
	held    map[string]string
	cursor  map[string]int // round-robin position by queue
	waiting map[string][]waiter
}

// NewRouter returns a router over queues and agents.
func NewRouter(queues []*Queue, agents []*Agent) *Router {
	r := &Router{queues: map[string]*Queue{}, agents: map[string]*Agent{}, held: map[string]string{},
		cursor: map[string]int{}, waiting: map[string][]waiter{}}
	for _, q := range queues {
		cp := *q
		r.queues[q.Name] = &cp
	}
	for _, a := range agents {
		cp := *a
		cp.Load = 0
		r.agents[a.ID] = &cp
	}
	return r
}

// Decide picks the queue, priority and reason for an utterance, checking
// (without reserving) that some agent has room, overflowing otherwise.
// An empty Queue means self-service.
func (r *Router) Decide(in RouteInput) Route {
	type cand struct {
		queue    string
		priority int
		reason   string
	}
	var cs []cand
	vulnerable := false
	for _, w := range in.Warnings {
		score := fmt.Sprintf("%.2f", w.Score)
		switch w.Kind {
		case ScamVictim:
			cs = append(cs, cand{"fraud", PriorityUrgent, "疑似正在被骗（" + w.Type + " " + score + "）：转反诈劝阻坐席"})
		case ComplaintRisk:
			p := PriorityRaised
			if w.Type == "regulator" || w.Type == "media" || w.Type == "police_legal" {
				p = PriorityHigh
			}
			cs = append(cs, cand{"disputes", p, "投诉/升级风险（" + w.Type + " " + score + "）：转争议处理坐席"})
		case Vulnerable:
			vulnerable = true
			switch w.Type {
			case "self_harm":
				cs = append(cs, cand{"elderly_care", PriorityUrgent, "有轻生风险（" + score + "）：立即转关怀坐席"})
			case "elderly":
				cs = append(cs, cand{"elderly_care", PriorityHigh, "老年客户（" + score + "）：转老年关怀坐席"})
			case "debt":
				cs = append(cs, cand{"repayment", PriorityRaised, "债务困难（" + score + "）：转还款协商坐席"})
			default:
				cs = append(cs, cand{"elderly_care", PriorityRaised, "情绪困扰（" + score + "）：转关怀坐席"})
			}
		}
	}
	if in.Human != "" {
		q := "general"
		switch in.Category {
		case "repayment", "loan", "borrow", "limit", "overdue":
			q = "repayment"
		case "dispute", "disputes", "fees", "complaint":
			q = "disputes"
		case "safety", "fraud":
			q = "fraud"
		}
		cs = append(cs, cand{q, PriorityRoutine, in.Human})
	}
	if len(cs) == 0 {
		return Route{Reason: "自助服务：无需人工"}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return a.priority - b.priority })
	best := cs[0]
	reasons := []string{best.reason}
	for _, c := range cs[1:] {
		if !slices.Contains(reasons, c.reason) {
			reasons = append(reasons, c.reason)
		}
	}
	if vulnerable && best.priority > PriorityUrgent && !strings.HasPrefix(best.reason, "老年") && !strings.HasPrefix(best.reason, "情绪") && !strings.HasPrefix(best.reason, "债务") {
		// A vulnerable customer routed for another reason moves up.
		best.priority--
		reasons = append(reasons, "客户脆弱，优先级提高")
	}
	rt := Route{Queue: best.queue, Priority: best.priority, Reason: strings.Join(reasons, "；")}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.place(&rt)
	return rt
}

// place follows the overflow chain from rt.Queue to the first queue with
// an agent with room, noting why; with none, the route waits in its
// first queue. The caller holds mu.
func (r *Router) place(rt *Route) {
	first := rt.Queue
	if _, ok := r.queues[first]; !ok {
		rt.Reason += "；队列 " + first + " 未配置，转 general"
		first = "general"
		rt.Queue = first
	}
	seen := map[string]bool{}
	for q := first; q != "" && !seen[q]; {
		seen[q] = true
		qu := r.queues[q]
		if qu == nil {
			break
		}
		if len(r.eligible(qu)) > 0 {
			if q != first {
				rt.OverflowFrom, rt.Queue = first, q
				rt.Reason += "；" + first + " 队列无空闲坐席，溢出到 " + q
			}
			rt.Waiting = false
			return
		}
		q = qu.Overflow
	}
	rt.Queue, rt.Waiting = first, true
	rt.Reason += fmt.Sprintf("；暂无空闲坐席，排队等待（队列中 %d 位）", len(r.waiting[first]))
}

// eligible returns the agents that can take one more session of q, by id.
func (r *Router) eligible(q *Queue) []*Agent {
	var out []*Agent
	for _, a := range r.agents {
		if a.Presence != Online || a.Load >= a.Capacity {
			continue
		}
		for _, s := range a.Skills {
			if slices.Contains(q.Skills, s) {
				out = append(out, a)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b *Agent) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// pick chooses one agent of q by its strategy. The caller holds mu.
func (r *Router) pick(q *Queue) *Agent {
	as := r.eligible(q)
	if len(as) == 0 {
		return nil
	}
	if q.Strategy == RoundRobin {
		i := r.cursor[q.Name] % len(as)
		r.cursor[q.Name] = i + 1
		return as[i]
	}
	best := as[0]
	for _, a := range as[1:] {
		// Least loaded by share of capacity; ties to the lower id.
		if a.Load*best.Capacity < best.Load*a.Capacity {
			best = a
		}
	}
	return best
}

// Assign gives a session to an agent along rt's queue and its overflow;
// with no agent free it waits in rt's queue (Waiting). A session already
// held keeps its agent.
func (r *Router) Assign(session string, rt Route, now time.Time) Route {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.held[session]; ok {
		rt.AgentID = a
		return rt
	}
	r.unwait(session)
	if rt.Queue == "" {
		rt.Queue = "general"
	}
	r.place(&rt)
	if rt.Waiting {
		r.waiting[rt.Queue] = append(r.waiting[rt.Queue], waiter{session: session, priority: rt.Priority, since: now})
		return rt
	}
	a := r.pick(r.queues[rt.Queue])
	a.Load++
	r.held[session] = a.ID
	rt.AgentID = a.ID
	return rt
}

func (r *Router) unwait(session string) {
	for q, ws := range r.waiting {
		r.waiting[q] = slices.DeleteFunc(ws, func(w waiter) bool { return w.session == session })
	}
}

// Assignment is a waiting session given to an agent.
type Assignment struct {
	Session, Queue, Agent string
}

// Release frees the agent holding a session (if any) and the session's
// place in a queue, then gives freed room to waiting sessions.
func (r *Router) Release(session string) []Assignment {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unwait(session)
	if id, ok := r.held[session]; ok {
		delete(r.held, session)
		if a := r.agents[id]; a != nil && a.Load > 0 {
			a.Load--
		}
	}
	return r.drain()
}

// drain assigns waiting sessions, most urgent and oldest first, while
// agents have room. The caller holds mu.
func (r *Router) drain() []Assignment {
	var out []Assignment
	names := make([]string, 0, len(r.waiting))
	for q := range r.waiting {
		names = append(names, q)
	}
	slices.Sort(names)
	for _, qn := range names {
		ws := r.waiting[qn]
		slices.SortStableFunc(ws, func(a, b waiter) int {
			if a.priority != b.priority {
				return a.priority - b.priority
			}
			return a.since.Compare(b.since)
		})
		for len(ws) > 0 {
			q := r.queues[qn]
			if q == nil {
				break
			}
			var a *Agent
			for cur, seen := q, map[string]bool{}; cur != nil && !seen[cur.Name] && a == nil; cur = r.queues[cur.Overflow] {
				seen[cur.Name] = true
				a = r.pick(cur)
			}
			if a == nil {
				break
			}
			a.Load++
			r.held[ws[0].session] = a.ID
			out = append(out, Assignment{Session: ws[0].session, Queue: qn, Agent: a.ID})
			ws = ws[1:]
		}
		r.waiting[qn] = ws
	}
	return out
}

// Hold records that an agent holds a session (restoring state at start).
func (r *Router) Hold(session, agent string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.held[session]; ok {
		return
	}
	r.held[session] = agent
	if a := r.agents[agent]; a != nil {
		a.Load++
	}
}

// Wait puts a session back in a queue's line (restoring state at start).
func (r *Router) Wait(session, queue string, priority int, since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting[queue] = append(r.waiting[queue], waiter{session, priority, since})
}

// SetAgent adds or replaces an agent, keeping its load; new room goes to
// waiting sessions.
func (r *Router) SetAgent(a *Agent) []Assignment {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := *a
	if old := r.agents[a.ID]; old != nil {
		cp.Load = old.Load
	} else {
		cp.Load = 0
	}
	r.agents[a.ID] = &cp
	return r.drain()
}

// SetQueue adds or replaces a queue.
func (r *Router) SetQueue(q *Queue) []Assignment {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := *q
	r.queues[q.Name] = &cp
	return r.drain()
}

// HasQueue reports whether the queue exists.
func (r *Router) HasQueue(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queues[name] != nil
}

// QueueState is a queue with its agents' room and its line.
type QueueState struct {
	Queue
	AgentsOnline int `json:"agents_online"`
	Capacity     int `json:"capacity"`
	Load         int `json:"load"`
	Waiting      int `json:"waiting"`
}

// Queues returns every queue with its state, by name.
func (r *Router) Queues() []QueueState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]QueueState, 0, len(r.queues))
	for _, q := range r.queues {
		st := QueueState{Queue: *q, Waiting: len(r.waiting[q.Name])}
		st.Skills = slices.Clone(q.Skills)
		for _, a := range r.agents {
			if a.Presence != Online {
				continue
			}
			for _, s := range a.Skills {
				if slices.Contains(q.Skills, s) {
					st.AgentsOnline++
					st.Capacity += a.Capacity
					st.Load += a.Load
					break
				}
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b QueueState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Agents returns every agent with its load, by id.
func (r *Router) Agents() []Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Agent, 0, len(r.agents))
	for _, a := range r.agents {
		cp := *a
		cp.Skills = slices.Clone(a.Skills)
		out = append(out, cp)
	}
	slices.SortFunc(out, func(a, b Agent) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Agent returns one agent, or nil.
func (r *Router) Agent(id string) *Agent {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.agents[id]; a != nil {
		cp := *a
		return &cp
	}
	return nil
}
