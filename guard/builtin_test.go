package guard_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
)

// scScenario is a world and what must hold when it is replayed.
type scScenario struct {
	name  string
	build func() *scWorld
	check func(t *testing.T, r *scRun)
}

// ─────────────────────────── scams, one or more per typology ───────────────────────────

var scScams = []scScenario{
	{
		// Declined for a loan, then small "fees" to a new personal account,
		// without a word in the memo.
		name: "fake_loan_no_memo",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("loan-quiet", 33)
			w.life(p, -40, 0)
			agent := scAcct{"6217-fl-quiet", "钱某"}
			w.ev(p, scAt(0, "09:10"), guard.LoanApply).amt(30000)
			w.transfer(p, scAt(0, "10:30"), agent, 500, "").tag("fee1")
			w.transfer(p, scAt(0, "11:15"), agent, 1200, "").tag("fee2")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			// Without a memo one small transfer is too little to act on; the
			// second fee to the same new account after the application is.
			r.expect(t, "fee2", guard.Remind, "fake_loan")
		},
	},
	{
		// A takeover ring logs into three stolen accounts from one phone and
		// drains the third at night.
		name: "account_takeover_ring",
		build: func() *scWorld {
			w := scNewWorld()
			ring := "dev-ring-01"
			var last *scPerson
			for i := 0; i < 3; i++ {
				p := w.person(fmt.Sprintf("ring-victim-%d", i), 35+6*i)
				w.life(p, -30, 0)
				w.ev(p, scAt(0, fmt.Sprintf("02:%02d", 10*i)), guard.Login).dev(ring).ip("103.44.2.8").tag(fmt.Sprintf("login%d", i))
				last = p
			}
			w.transfer(last, scAt(0, "02:25"), scAcct{"6217-ring-a", "陆某"}, 3000, "").dev(ring).ip("103.44.2.8").tag("out1")
			w.transfer(last, scAt(0, "02:31"), scAcct{"6217-ring-b", "潘某"}, 4000, "").dev(ring).ip("103.44.2.8").tag("out2")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.exactly(t, "login0", guard.Allow)
			r.expect(t, "login2", guard.Friction, "account_takeover")
			r.expect(t, "out2", guard.Hold, "account_takeover")
		},
	},
	{
		// A fraud ring's phone: a loan taken on it is confirmed as fraud, and
		// the phone comes back with a newly registered identity.
		name: "device_farm_known_fraud_device",
		build: func() *scWorld {
			w := scNewWorld()
			a := w.person("fraudster-a", 29)
			a.Device, a.Reg = "dev-ring-phone", scAt(-5, "10:00")
			b := w.person("fraudster-b", 31)
			b.Device, b.Reg = "dev-ring-phone", scAt(0, "09:00")
			w.ev(a, scAt(-5, "10:05"), guard.LoanApply).amt(20000)
			w.ev(a, scAt(-5, "10:30"), guard.LoanPayout).amt(20000)
			w.hook(scAt(-1, "12:00"), func(e *guard.Engine) {
				e.State().Label(guard.LabelSubject{CustomerID: a.ID, DeviceID: a.Device, At: scAt(-5, "10:30").Unix()}, guard.OutcomeConfirmedFraud, +1)
			})
			w.ev(b, scAt(0, "09:05"), guard.Login).tag("login")
			w.ev(b, scAt(0, "09:20"), guard.LoanApply).amt(20000).tag("apply")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "login", guard.Friction, "device_farm")
			r.expect(t, "apply", guard.Hold, "device_farm")
		},
	},
	{
		// A "studio": a dozen brand-new customers, each on their own phone,
		// apply for loans from one IP within the hour.
		name: "device_farm_shared_ip",
		build: func() *scWorld {
			w := scNewWorld()
			for i := 0; i < 12; i++ {
				p := w.person(fmt.Sprintf("studio-%02d", i), 20+i)
				p.IP = "121.35.8.200"
				p.Reg = scAt(-2, "10:00")
				w.ev(p, scAt(0, fmt.Sprintf("14:%02d", 4*i)), guard.LoanApply).amt(6000).tag(fmt.Sprintf("apply%d", i+1))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.atMost(t, "apply9", guard.Allow)
			r.expect(t, "apply10", guard.Remind, "device_farm")
			r.expect(t, "apply12", guard.Remind, "device_farm")
		},
	},
	{
		// A mule that collects slowly: three or four new payers a day for a
		// week, never eight in a day.
		name: "mule_fan_in_slow",
		build: func() *scWorld {
			w := scNewWorld()
			mule := scAcct{"6228-mule-slow", "彭某"}
			for i := 0; i < 22; i++ {
				p := w.person(fmt.Sprintf("slow-payer-%02d", i), 28+i)
				w.life(p, -15, 0)
				day := -6 + i/4
				w.transfer(p, scAt(day, fmt.Sprintf("%02d:%02d", 10+2*(i%4), 7*(i%5))), mule, float64(2000+150*i), "").tag(fmt.Sprintf("p%d", i+1))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.atMost(t, "p8", guard.Allow)
			r.expect(t, "p20", guard.CoolingOff, "mule_account")
			r.expect(t, "p22", guard.CoolingOff, "mule_account")
		},
	},
	{
		// An account reported in three confirmed frauds is blocked outright.
		name: "reported_payee_repeat",
		build: func() *scWorld {
			w := scNewWorld()
			acct := scAcct{"6217-rep-3", "江某"}
			for i := 0; i < 3; i++ {
				v := w.person(fmt.Sprintf("rep3-victim-%d", i), 40+5*i)
				w.life(v, -15, 0)
				at := scAt(-3+i, "10:00")
				w.transfer(v, at, acct, 2000, "")
				w.hook(at.Add(scMins(1, 60)), func(e *guard.Engine) {
					e.State().Label(guard.LabelSubject{CustomerID: v.ID, Account: acct.Account, At: at.Unix()}, guard.OutcomeConfirmedFraud, +1)
				})
			}
			n := w.person("rep3-next", 37)
			w.life(n, -15, 1)
			w.transfer(n, scAt(1, "09:00"), acct, 1000, "").tag("pay")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.expect(t, "pay", guard.Block, "mule_account") },
	},
	{
		// A confirmed victim is approached by "loss recovery" scammers.
		name: "vulnerable_revictimisation",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("past-victim", 52)
			w.life(p, -40, 0)
			w.transfer(p, scAt(-12, "11:00"), scAcct{"6217-old-scam", "某某"}, 3000, "").quiet()
			w.hook(scAt(-10, "09:00"), func(e *guard.Engine) {
				e.State().Label(guard.LabelSubject{CustomerID: p.ID, Account: "6217-old-scam", At: scAt(-12, "11:00").Unix()}, guard.OutcomeConfirmedFraud, +1)
			})
			w.transfer(p, scAt(0, "16:00"), scAcct{"6217-recovery", "曾某"}, 2000, "").tag("again")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.expect(t, "again", guard.Friction, "vulnerable_customer") },
	},
	{
		// A 21-year-old gets a call from "platform customer service": her old
		// student loan must be cancelled or her credit record suffers. She is
		// told to borrow, then move the money to a "safe account".
		name: "impersonated_customer_service",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("cs-victim", 21)
			p.Spend, p.FamilyAmt = [2]float64{8, 90}, [2]float64{200, 600}
			w.life(p, -45, 0)
			safe := scAcct{"6217-cs-safe-01", "李建国"}
			w.ev(p, scAt(0, "13:40"), guard.Login)
			w.ev(p, scAt(0, "13:48"), guard.LoanApply).amt(30000)
			w.ev(p, scAt(0, "13:55"), guard.LoanApply).amt(25000)
			w.ev(p, scAt(0, "14:02"), guard.LoanApply).amt(20000).tag("apply3")
			w.ev(p, scAt(0, "14:06"), guard.LoanPayout).amt(20000)
			w.ev(p, scAt(0, "14:15"), guard.PayeeAdd).to(safe)
			w.transfer(p, scAt(0, "14:18"), safe, 19500, "注销校园贷 账户清零").tag("decisive")
			w.transfer(p, scAt(0, "14:40"), scAcct{"6217-cs-safe-02", "王刚"}, 19500, "注销校园贷 转入安全账户").tag("retry")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "apply3", guard.Remind, "impersonated_customer_service")
			r.expect(t, "decisive", guard.CoolingOff, "impersonated_customer_service")
			r.expect(t, "retry", guard.Hold, "impersonated_customer_service")
		},
	},
	{
		// "Your parcel was lost, we pay double": first a "verification" payment,
		// then a loan "to raise the credit limit" sent on as compensation.
		name: "refund_scam",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("refund-victim", 27)
			w.life(p, -40, 0)
			w.transfer(p, scAt(0, "15:10"), scAcct{"6217-rf-01", "赵刚"}, 1500, "快递丢失理赔 核验").tag("first")
			w.ev(p, scAt(0, "15:30"), guard.LoanApply).amt(10000)
			w.ev(p, scAt(0, "15:33"), guard.LoanPayout).amt(10000)
			w.transfer(p, scAt(0, "15:45"), scAcct{"6217-rf-02", "孙丽"}, 9800, "退还多赔款项 退款").tag("decisive")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "first", guard.Friction, "refund_scam")
			r.expect(t, "decisive", guard.Hold, "refund_scam")
		},
	},
	{
		// A student does "tasks": 30 yuan, 200, 800, then a "combo order" of
		// 3,000 and 8,000, each to a different account.
		name: "brushing_part_time",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("brush-victim", 20)
			p.Spend, p.FamilyAmt = [2]float64{6, 60}, [2]float64{100, 300}
			w.life(p, -40, 0)
			w.transfer(p, scAt(0, "19:02"), scAcct{"6217-br-1", "周敏"}, 30, "刷单任务1").tag("t1")
			w.transfer(p, scAt(0, "19:15"), scAcct{"6217-br-2", "吴静"}, 200, "做任务").tag("t2")
			w.transfer(p, scAt(0, "19:40"), scAcct{"6217-br-3", "郑洋"}, 800, "做任务 垫付").tag("t3")
			w.transfer(p, scAt(0, "20:05"), scAcct{"6217-br-4", "王芳"}, 3000, "").tag("t4")
			w.transfer(p, scAt(0, "20:30"), scAcct{"6217-br-5", "冯军"}, 8000, "").tag("t5")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "t1", guard.Remind, "brushing_part_time")
			r.expect(t, "t3", guard.CoolingOff, "brushing_part_time")
			r.expect(t, "t4", guard.CoolingOff, "brushing_part_time")
			r.expect(t, "t5", guard.Hold, "brushing_part_time")
		},
	},
	{
		// Pig butchering with memos, and a customer who ignores every warning:
		// each transfer to the same "mentor" account climbs a step.
		name: "fake_investment_ignores_warnings",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("inv-victim", 34)
			p.FamilyAmt = [2]float64{1000, 3000}
			w.life(p, -50, 0)
			mentor := scAcct{"6217-inv-mentor", "陈思远"}
			w.ev(p, scAt(0, "20:00"), guard.PayeeAdd).to(mentor)
			w.transfer(p, scAt(0, "20:03"), mentor, 2000, "投资入金").tag("inv1")
			w.life(p, 1, 3)
			w.transfer(p, scAt(3, "21:00"), mentor, 8000, "追加投资").tag("inv2")
			w.life(p, 4, 6)
			w.transfer(p, scAt(6, "21:30"), mentor, 30000, "理财收益翻倍").tag("inv3")
			w.transfer(p, scAt(9, "20:00"), mentor, 60000, "提现保证金").tag("inv4")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			d1 := r.expect(t, "inv1", guard.Friction, "fake_investment")
			d2 := r.expect(t, "inv2", guard.CoolingOff, "fake_investment")
			d3 := r.expect(t, "inv3", guard.CoolingOff, "fake_investment")
			r.expect(t, "inv4", guard.Hold, "fake_investment")
			if !(d1.Action < d2.Action && d2.Action < d3.Action) {
				t.Errorf("ladder did not climb: %s, %s, %s", d1.Action, d2.Action, d3.Action)
			}
			if d2.Explanation == nil || d2.Explanation.Escalation == "" {
				t.Errorf("inv2 should be explained as an escalation:\n%s", scExplain(d2))
			}
		},
	},
	{
		// The same scam without memos: three growing transfers in a week to
		// an account met five days ago.
		name: "fake_investment_no_memo",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("inv-quiet", 41)
			p.FamilyAmt = [2]float64{500, 2000}
			w.life(p, -50, 0)
			acct := scAcct{"6217-inv-quiet", "林海"}
			w.transfer(p, scAt(0, "10:00"), acct, 5000, "").tag("i1")
			w.life(p, 1, 2)
			w.transfer(p, scAt(2, "15:00"), acct, 15000, "").tag("i2")
			w.life(p, 3, 5)
			w.transfer(p, scAt(5, "20:00"), acct, 40000, "").tag("i3")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "i3", guard.CoolingOff, "fake_investment")
		},
	},
	{
		// Declined for a loan, then "an inside channel" asks for a deposit
		// and an unfreeze fee before the money can be paid out.
		name: "fake_loan",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("loan-victim", 29)
			w.life(p, -40, 0)
			agent := scAcct{"6217-fl-agent", "王磊"}
			w.ev(p, scAt(0, "10:00"), guard.LoanApply).amt(50000)
			w.ev(p, scAt(0, "10:40"), guard.PayeeAdd).to(agent)
			w.transfer(p, scAt(0, "10:45"), agent, 600, "放款保证金").tag("fee1")
			w.transfer(p, scAt(0, "11:30"), agent, 1500, "银行卡解冻费").tag("fee2")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "fee1", guard.CoolingOff, "fake_loan")
			r.expect(t, "fee2", guard.Hold, "fake_loan")
		},
	},
	{
		// Two declined applications, then a "credit repair studio".
		name: "credit_repair",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("cr-victim", 36)
			w.life(p, -40, 0)
			studio := scAcct{"6217-cr-studio", "深圳征信修复咨询工作室"}
			w.ev(p, scAt(-2, "11:00"), guard.LoanApply).amt(30000)
			w.ev(p, scAt(-1, "16:20"), guard.LoanApply).amt(20000)
			w.ev(p, scAt(0, "16:00"), guard.PayeeAdd).to(studio).tag("add")
			w.transfer(p, scAt(0, "16:05"), studio, 3000, "征信修复 消除逾期 定金").tag("decisive")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "add", guard.Friction, "credit_repair")
			r.expect(t, "decisive", guard.CoolingOff, "credit_repair")
		},
	},
	{
		// A 68-year-old is told by "police" on a Tuesday morning that her
		// savings must be checked in a safe account.
		name: "impersonated_police_safe_account",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("police-victim", 68)
			p.Spend, p.FamilyAmt = [2]float64{10, 150}, [2]float64{500, 2000}
			w.life(p, -60, 0)
			w.transfer(p, scAt(0, "10:20"), scAcct{"6217-pol-safe", "刘强"}, 50000, "配合资金核查 安全账户").tag("decisive")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "decisive", guard.Hold, "impersonated_police")
		},
	},
	{
		// No memo this time: a 72-year-old on the phone moves his savings in
		// three transfers to three accounts within forty minutes.
		name: "impersonated_police_burst",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("police-burst", 72)
			p.Spend, p.FamilyAmt = [2]float64{10, 120}, [2]float64{500, 1500}
			w.life(p, -60, 1)
			w.transfer(p, scAt(1, "09:30"), scAcct{"6217-pol-a", "黄伟"}, 30000, "").tag("p1")
			w.transfer(p, scAt(1, "09:45"), scAcct{"6217-pol-b", "马超"}, 40000, "").tag("p2")
			w.transfer(p, scAt(1, "10:10"), scAcct{"6217-pol-c", "何平"}, 25000, "").tag("p3")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "p1", guard.CoolingOff, "impersonated_police")
			r.expect(t, "p2", guard.Hold, "impersonated_police")
			r.expect(t, "p3", guard.Hold, "impersonated_police")
		},
	},
	{
		// A takeover at 2 a.m.: new device, phone number changed, profile
		// changed, a new card bound and the money withdrawn to it.
		name: "account_takeover_full",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("ato-victim", 45)
			p.Withdraws = true
			w.life(p, -45, 0)
			w.ev(p, scAt(0, "02:10"), guard.Login).dev("dev-attacker-1").ip("45.77.1.9").tag("login")
			w.ev(p, scAt(0, "02:12"), guard.PhoneChange).dev("dev-attacker-1").ip("45.77.1.9").tag("phone")
			w.ev(p, scAt(0, "02:15"), guard.ProfileChange).dev("dev-attacker-1").ip("45.77.1.9")
			w.ev(p, scAt(0, "02:18"), guard.CardBind).dev("dev-attacker-1").ip("45.77.1.9").tag("card")
			w.ev(p, scAt(0, "02:22"), guard.Withdrawal).to(scAcct{"6230-ato-card", "本人"}).amt(20000).dev("dev-attacker-1").ip("45.77.1.9").tag("withdraw")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "phone", guard.Friction, "account_takeover")
			r.expect(t, "card", guard.Friction, "account_takeover")
			r.expect(t, "withdraw", guard.Hold, "account_takeover")
		},
	},
	{
		// A login from a new device, then within hours money to new payees.
		name: "account_takeover_new_device",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("ato-quick", 38)
			p.FamilyAmt = [2]float64{500, 2500}
			w.life(p, -45, 0)
			w.ev(p, scAt(0, "12:20"), guard.Login).dev("dev-stolen-x").ip("36.112.9.20")
			w.ev(p, scAt(0, "12:41"), guard.Login).dev("dev-stolen-x").ip("183.6.77.41")
			w.ev(p, scAt(0, "13:00"), guard.Login).dev("dev-stolen-x").ip("115.2.3.4")
			w.transfer(p, scAt(0, "14:30"), scAcct{"6217-ato-1", "赵明"}, 6000, "").dev("dev-stolen-x").ip("115.2.3.4").tag("t1")
			w.transfer(p, scAt(0, "14:36"), scAcct{"6217-ato-2", "钱进"}, 6000, "").dev("dev-stolen-x").ip("115.2.3.4").tag("t2")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "t1", guard.Friction, "account_takeover")
			r.expect(t, "t2", guard.CoolingOff, "account_takeover")
		},
	},
	{
		// Twelve victims of different scams pay the same new personal account
		// within a day; four of them are elderly.
		name: "mule_fan_in",
		build: func() *scWorld {
			w := scNewWorld()
			mule := scAcct{"6228-mule-01", "周小平"}
			ages := []int{35, 67, 29, 71, 44, 52, 63, 38, 26, 41, 69, 33}
			amts := []float64{3000, 5000, 2600, 8000, 4200, 3500, 6000, 2800, 3100, 4500, 5200, 3900}
			for i, age := range ages {
				p := w.person(fmt.Sprintf("mule-payer-%02d", i+1), age)
				w.life(p, -20, 0)
				at := scAt(0, fmt.Sprintf("%02d:%02d", 9+i, 10+3*i))
				if i == 11 {
					w.ev(p, at.Add(-2*60e9), guard.PayeeAdd).to(mule).tag("add12")
				}
				w.transfer(p, at, mule, amts[i], "").tag(fmt.Sprintf("payer%d", i+1))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "payer7", guard.CoolingOff, "mule_account") // third elderly payer
			r.expect(t, "payer8", guard.Friction, "mule_account")
			r.expect(t, "payer10", guard.Friction, "mule_account")
			r.expect(t, "add12", guard.Friction, "mule_account")
			r.expect(t, "payer12", guard.Friction, "mule_account")
		},
	},
	{
		// A text-message scam wave: eight people pay the same fresh account
		// within seventy minutes. The active fan-in rule reacts from the 8th
		// payer; the shadow rule measures reacting from the 5th.
		name: "mule_burst_hour",
		build: func() *scWorld {
			w := scNewWorld()
			mule := scAcct{"6228-mule-burst", "邓某"}
			for i := 0; i < 8; i++ {
				p := w.person(fmt.Sprintf("burst-payer-%d", i), 30+4*i)
				w.life(p, -20, 0)
				w.transfer(p, scAt(0, "15:00").Add(scMins(i, 10)), mule, float64(1800+300*i), "").tag(fmt.Sprintf("b%d", i+1))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for _, tag := range []string{"b5", "b6", "b7"} {
				if d := r.get(t, tag); len(d.Shadow) == 0 {
					t.Errorf("%s: shadow fan-in rule did not fire\n%s", tag, scExplain(d))
				}
			}
			r.expect(t, "b8", guard.Friction, "mule_account")
		},
	},
	{
		// A week-old account moves 30,000 yuan to five new payees in two hours.
		name: "mule_pass_through",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("mule-self", 23)
			p.Reg = scAt(-8, "12:00")
			p.Spend = [2]float64{10, 80}
			w.life(p, -8, 0)
			amts := []float64{6000, 5500, 7000, 4800, 6200}
			for i, a := range amts {
				w.transfer(p, scAt(0, fmt.Sprintf("13:%02d", 5+12*i)), scAcct{fmt.Sprintf("6217-layer-%d", i), scSurnames[i] + "某"}, a, "").tag(fmt.Sprintf("o%d", i+1))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "o4", guard.Friction, "mule_account")
			r.expect(t, "o5", guard.Friction, "mule_account")
		},
	},
	{
		// Seven accounts registered this morning on one phone, each logging in,
		// filling the profile, binding a card and applying for a loan.
		name: "device_farm",
		build: func() *scWorld {
			w := scNewWorld()
			for k := 1; k <= 7; k++ {
				p := w.person(fmt.Sprintf("farm-%d", k), 22+k)
				p.Device, p.IP = "dev-farm-01", "112.80.4.17"
				start := scAt(0, "10:00").Add(scMins(k-1, 7))
				p.Reg = start.Add(-120e9)
				w.ev(p, start, guard.Login)
				w.ev(p, start.Add(60e9), guard.ProfileChange)
				w.ev(p, start.Add(120e9), guard.CardBind)
				w.ev(p, start.Add(180e9), guard.LoanApply).amt(float64(5000 + 2000*k)).tag(fmt.Sprintf("apply%d", k))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "apply4", guard.Friction, "")
			r.expect(t, "apply6", guard.Friction, "device_farm")
			r.expect(t, "apply7", guard.Hold, "device_farm")
		},
	},
	{
		// A synthetic identity registered today: three devices, two cards, a
		// profile dressed up and repeated applications.
		name: "fake_account",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("fake-id", 24)
			p.Reg = scAt(0, "09:00")
			w.ev(p, scAt(0, "09:05"), guard.Login).dev("dev-fa-1")
			w.ev(p, scAt(0, "09:20"), guard.ProfileChange).dev("dev-fa-1")
			w.ev(p, scAt(0, "09:25"), guard.CardBind).dev("dev-fa-1")
			w.ev(p, scAt(0, "09:40"), guard.Login).dev("dev-fa-2")
			w.ev(p, scAt(0, "09:45"), guard.CardBind).dev("dev-fa-2")
			w.ev(p, scAt(0, "09:50"), guard.LoanApply).amt(8000).dev("dev-fa-2").tag("apply1")
			w.ev(p, scAt(0, "10:30"), guard.Login).dev("dev-fa-3").tag("login3")
			w.ev(p, scAt(0, "10:35"), guard.LoanApply).amt(15000).dev("dev-fa-3").tag("apply2")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "login3", guard.Friction, "fake_account")
			r.expect(t, "apply2", guard.Friction, "fake_account")
		},
	},
	{
		// A borrower signs up with a "debt relief" agent: the contact phone and
		// address are switched to the agent's, then a service fee is paid.
		name: "complaint_agent_fraud",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("caf-victim", 31)
			p.RepayDay, p.RepayAmt = 15, 1830.50
			w.ev(p, scAt(-40, "10:00"), guard.LoanApply).amt(20000)
			w.ev(p, scAt(-40, "10:03"), guard.LoanPayout).amt(20000)
			w.life(p, -45, 0)
			w.ev(p, scAt(0, "19:00"), guard.PhoneChange)
			w.ev(p, scAt(0, "19:05"), guard.ProfileChange)
			w.ev(p, scAt(0, "19:10"), guard.ProfileChange).tag("churn")
			w.transfer(p, scAt(1, "11:00"), scAcct{"6217-caf-agent", "孙浩"}, 3000, "停息挂账服务费").tag("fee")
			w.ev(p, scAt(1, "19:30"), guard.ProfileChange)
			w.ev(p, scAt(1, "20:00"), guard.LoanApply).amt(20000)
			w.ev(p, scAt(2, "09:00"), guard.LoanApply).amt(20000)
			w.ev(p, scAt(2, "09:30"), guard.LoanApply).amt(15000).tag("apply3")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "churn", guard.Friction, "complaint_agent_fraud")
			r.expect(t, "fee", guard.CoolingOff, "complaint_agent_fraud")
			r.expect(t, "apply3", guard.Remind, "complaint_agent_fraud")
		},
	},
	{
		// Four nights of round top-ups to ever-changing accounts.
		name: "gambling",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("gambler", 28)
			w.life(p, -40, 4)
			g := func(i int) scAcct { return scAcct{fmt.Sprintf("6217-gb-%d", i), scSurnames[i] + "某某"} }
			w.transfer(p, scAt(0, "01:10"), g(1), 1000, "").tag("n1")
			w.transfer(p, scAt(0, "01:45"), g(2), 2000, "").tag("n2")
			w.transfer(p, scAt(1, "00:30"), g(3), 500, "").tag("n3")
			w.transfer(p, scAt(1, "02:20"), g(1), 3000, "").tag("n4")
			w.transfer(p, scAt(2, "01:00"), g(4), 5000, "").tag("n5")
			w.transfer(p, scAt(2, "03:10"), g(5), 2000, "").tag("n6")
			w.transfer(p, scAt(3, "00:50"), g(6), 10000, "").tag("n7")
			w.transfer(p, scAt(3, "02:00"), g(2), 5000, "").tag("n8")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.atMost(t, "n1", guard.Allow)
			r.expect(t, "n4", guard.CoolingOff, "gambling")
			r.expect(t, "n8", guard.Hold, "gambling")
		},
	},
	{
		// A habit: three weeks of nightly round top-ups to three accounts.
		name: "gambling_habit",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("gb-habit", 35)
			w.life(p, -60, 0)
			for d := -21; d < 0; d++ {
				to := scAcct{fmt.Sprintf("6217-gbh-%d", (d+21)%3), "某平台代理"}
				w.transfer(p, scAt(d, "01:20"), to, float64(500*(1+(d+21)%4)), "").tag(fmt.Sprintf("d%d", d+21))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "d5", guard.CoolingOff, "gambling")
			d := r.expect(t, "d20", guard.CoolingOff, "gambling")
			if len(d.Shadow) == 0 {
				t.Errorf("d20: the 30-day habit shadow rule did not fire\n%s", scExplain(d))
			}
		},
	},
	{
		// Gambling collection accounts: many gamblers top up the same few
		// accounts at night; the memo gives it away for one of them.
		name: "gambling_collector",
		build: func() *scWorld {
			w := scNewWorld()
			coll := scAcct{"6217-gb-collector", "韩某"}
			for i := 0; i < 6; i++ {
				p := w.person(fmt.Sprintf("gb-player-%d", i), 24+3*i)
				w.life(p, -15, 0)
				w.transfer(p, scAt(0, fmt.Sprintf("0%d:%02d", 1+i/3, 5+15*(i%3))), coll, 1000, "")
				w.transfer(p, scAt(1, fmt.Sprintf("0%d:%02d", 1+i/3, 10+15*(i%3))), coll, 2000, "").tag(fmt.Sprintf("p%d", i))
			}
			q := w.person("gb-memo", 30)
			w.life(q, -15, 0)
			w.transfer(q, scAt(0, "22:30"), scAcct{"6217-gb-agent", "卢某"}, 2000, "充值上分").tag("memo")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "p5", guard.CoolingOff, "gambling")
			r.expect(t, "memo", guard.Friction, "gambling")
		},
	},
	{
		// Block-list hits on every kind of entity.
		name: "listed_entity",
		build: func() *scWorld {
			w := scNewWorld()
			a := w.person("list-a", 40)
			b := w.person("list-b", 33)
			c := w.person("list-c", 51)
			d := w.person("list-d", 27)
			d.IDNo = "11010519900307002X"
			e := w.person("list-e", 45)
			f := w.person("list-f", 36)
			for _, p := range []*scPerson{a, b, c, d, e, f} {
				w.life(p, -20, 0)
			}
			at := scAt(0, "08:00")
			w.list(at, guard.BlockList, guard.KindAccount, "6222-blocked-mule")
			w.list(at, guard.BlockList, guard.KindDevice, "dev-blocked-01")
			w.list(at, guard.BlockList, guard.KindPhone, c.Phone)
			w.list(at, guard.BlockList, guard.KindIDHash, guard.HashIDNumber("11010519900307002x"))
			w.list(at, guard.BlockList, guard.KindCustomer, e.ID)
			w.list(at, guard.BlockList, guard.KindIP, "185.220.101.7")
			w.transfer(a, scAt(0, "10:00"), scAcct{"6222-blocked-mule", "钱某"}, 500, "").tag("account")
			w.ev(b, scAt(0, "11:00"), guard.Login).dev("dev-blocked-01").tag("device")
			w.ev(c, scAt(0, "12:00"), guard.LoanApply).amt(10000).tag("phone")
			w.ev(d, scAt(0, "13:00"), guard.LoanApply).amt(10000).tag("id")
			w.pay(e, scAt(0, "14:00"), scMerchants[0], 35).tag("customer")
			w.ev(f, scAt(0, "15:00"), guard.Login).ip("185.220.101.7").tag("ip")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for _, tag := range []string{"account", "device", "phone", "id", "customer", "ip"} {
				r.expect(t, tag, guard.Block, "listed_entity")
			}
		},
	},
	{
		// One victim's payment is confirmed as fraud; the next customer who
		// adds and pays the same account is stopped.
		name: "reported_payee",
		build: func() *scWorld {
			w := scNewWorld()
			acct := scAcct{"6217-reported", "贾某"}
			v := w.person("rep-victim", 50)
			n := w.person("rep-next", 44)
			w.life(v, -20, 0)
			w.life(n, -20, 3)
			w.transfer(v, scAt(0, "10:00"), acct, 3000, "")
			w.hook(scAt(1, "09:00"), func(e *guard.Engine) {
				e.State().Label(guard.LabelSubject{CustomerID: v.ID, Account: acct.Account, DeviceID: v.Device, At: scAt(0, "10:00").Unix()}, guard.OutcomeConfirmedFraud, +1)
			})
			w.ev(n, scAt(2, "15:00"), guard.PayeeAdd).to(acct).tag("add")
			w.transfer(n, scAt(2, "15:02"), acct, 800, "").tag("pay")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "add", guard.Friction, "mule_account")
			r.expect(t, "pay", guard.Hold, "mule_account")
		},
	},
	{
		// A 66-year-old's first large transfer to a stranger on a Saturday,
		// and another's late-night transfer.
		name: "vulnerable_elderly",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("elderly-a", 66)
			p.Spend = [2]float64{10, 120}
			w.life(p, -45, 0)
			w.transfer(p, scAt(-3, "10:30"), scAcct{"6217-eld-1", "高某"}, 8000, "").tag("large") // Saturday
			q := w.person("elderly-b", 74)
			q.Spend = [2]float64{10, 100}
			w.life(q, -45, 0)
			w.transfer(q, scAt(0, "01:30"), scAcct{"6217-eld-2", "罗某"}, 3000, "").tag("night")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "large", guard.Friction, "vulnerable_customer")
			r.expect(t, "night", guard.CoolingOff, "vulnerable_customer")
		},
	},
	{
		// Customer service flags a customer who mentioned a "mentor" in chat;
		// the next day she moves money. Four days later the flag has aged out.
		name: "vulnerable_flagged",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("flagged", 40)
			w.life(p, -30, 0)
			w.hook(scAt(0, "09:00"), func(e *guard.Engine) {
				e.State().Flag(p.ID, "fake_investment", scAt(0, "09:00").Unix())
			})
			w.transfer(p, scAt(1, "15:00"), p.Family[0], 2000, "").tag("flagged")
			w.transfer(p, scAt(4, "15:00"), p.Family[0], 2000, "").tag("later")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "flagged", guard.CoolingOff, "vulnerable_customer")
			r.exactly(t, "later", guard.Allow)
		},
	},
	{
		// A 70-year-old dismisses the warning and tries the same transfer
		// again, and again: friction, cooling-off, hold.
		name: "escalation_retry_same_payee",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("retry-elder", 70)
			p.Spend = [2]float64{10, 150}
			w.life(p, -45, 0)
			to := scAcct{"6217-retry", "李明"}
			w.transfer(p, scAt(-3, "10:00"), to, 9000, "").tag("try1") // Saturday
			w.transfer(p, scAt(-3, "10:05"), to, 9000, "").tag("try2")
			w.transfer(p, scAt(-3, "10:12"), to, 9000, "").tag("try3")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.exactly(t, "try1", guard.Friction)
			d2 := r.exactly(t, "try2", guard.CoolingOff)
			r.exactly(t, "try3", guard.Hold)
			if d2.Explanation == nil || d2.Explanation.Escalation == "" {
				t.Errorf("try2 should be an escalation:\n%s", scExplain(d2))
			}
		},
	},
	{
		// The same warning, but she stops: what she does next is ordinary and
		// stays allowed; nothing escalates.
		name: "escalation_customer_stops",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("stop-elder", 67)
			p.Spend = [2]float64{10, 150}
			w.life(p, -45, -3)
			w.transfer(p, scAt(-3, "10:00"), scAcct{"6217-stop", "陈某"}, 9000, "").tag("warned") // Saturday
			w.pay(p, scAt(-3, "16:00"), p.shops[0], 56.80).tag("after1")
			w.transfer(p, scAt(-2, "11:00"), p.Family[0], 800, "").tag("after2")
			w.life(p, -1, 3)
			w.pay(p, scAt(3, "20:00"), p.shops[1], 120).tag("after3")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.expect(t, "warned", guard.Friction, "vulnerable_customer")
			for _, tag := range []string{"after1", "after2", "after3"} {
				d := r.exactly(t, tag, guard.Allow)
				if d.Explanation != nil && d.Explanation.Escalation != "" {
					t.Errorf("%s escalated: %s", tag, d.Explanation.Escalation)
				}
			}
		},
	},
}

// scMins returns k times m minutes.
func scMins(k, m int) time.Duration { return time.Duration(k*m) * time.Minute }

// ─────────────────────────── legitimate look-alikes ───────────────────────────

var scLookalikes = []scScenario{
	{
		// A parent pays first-year tuition to the university; thirty other
		// parents pay the same account the same day.
		name: "tuition_first_time",
		build: func() *scWorld {
			w := scNewWorld()
			univ := scAcct{"6214-univ-fees", "华南理工大学"}
			p := w.person("tuition-parent", 46)
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "14:00"), univ, 23800, "2026级新生学费 张子涵").tag("tuition")
			for i := 0; i < 30; i++ {
				q := w.person(fmt.Sprintf("other-parent-%02d", i), 40+i%15)
				w.life(q, -15, 0)
				w.transfer(q, scAt(0, fmt.Sprintf("%02d:%02d", 8+i/3, 7*(i%8))), univ, float64(5000+700*i), "学费").quiet()
			}
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "tuition", guard.Allow) },
	},
	{
		// Rent to the same landlord every month.
		name: "rent_same_landlord",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("renter", 29)
			p.Rent, p.RentAmt = &scAcct{"6217-landlord", "蒋淑芬"}, 4500
			w.life(p, -70, 22)
			w.transfer(p, scAt(22, "09:00"), *p.Rent, 4500, "4月房租").tag("rent") // 1 April
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "rent", guard.Allow) },
	},
	{
		// A first payment of a few hundred yuan to a new friend.
		name: "new_friend_small",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("friendly", 25)
			w.life(p, -40, 0)
			w.transfer(p, scAt(0, "12:30"), scAcct{"6217-new-friend", "林晓"}, 300, "饭钱AA").tag("friend")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "friend", guard.Allow) },
	},
	{
		// A new phone: device change, login, then the usual small payments.
		name: "new_phone_usual_spending",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("new-phone", 33)
			w.life(p, -45, 0)
			p.Device = "dev-new-phone-33"
			w.ev(p, scAt(0, "19:00"), guard.DeviceChange).tag("change")
			w.ev(p, scAt(0, "19:01"), guard.Login).tag("login")
			w.pay(p, scAt(0, "19:30"), p.shops[0], 45.50).tag("pay1")
			w.pay(p, scAt(0, "20:10"), p.shops[1], 120).tag("pay2")
			w.transfer(p, scAt(1, "10:00"), p.Family[0], 800, "").tag("family")
			w.life(p, 1, 4)
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for _, tag := range []string{"change", "login", "pay1", "pay2", "family"} {
				r.exactly(t, tag, guard.Allow)
			}
		},
	},
	{
		// Salary day: money to mother, father and sister within a quarter hour.
		name: "salary_day_family",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("salary", 39)
			p.Family = []scAcct{{"6217-mum", "母亲"}, {"6217-dad", "父亲"}, {"6217-sis", "妹妹"}}
			p.FamilyAmt = [2]float64{1000, 3000}
			w.life(p, -60, 5)
			w.transfer(p, scAt(5, "10:00"), p.Family[0], 3000, "生活费").tag("mum")
			w.transfer(p, scAt(5, "10:06"), p.Family[1], 2000, "").tag("dad")
			w.transfer(p, scAt(5, "10:14"), p.Family[2], 1500, "").tag("sis")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for _, tag := range []string{"mum", "dad", "sis"} {
				r.exactly(t, tag, guard.Allow)
			}
		},
	},
	{
		// A round 1,000 yuan to a family member at 23:00, once.
		name: "round_1000_family_2300",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("late-family", 31)
			w.life(p, -40, 0)
			w.transfer(p, scAt(0, "23:00"), p.Family[1], 1000, "").tag("late")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "late", guard.Allow) },
	},
	{
		// A merchant payment at 02:00 (a known shop and a new convenience store).
		name: "merchant_payment_0200",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("night-owl", 26)
			w.life(p, -40, 0)
			w.pay(p, scAt(0, "02:00"), p.shops[0], 68).tag("known")
			w.pay(p, scAt(0, "02:05"), scAcct{"M-24h-store", "全家便利店"}, 200).tag("new")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.exactly(t, "known", guard.Allow)
			r.exactly(t, "new", guard.Allow)
		},
	},
	{
		// Repaying a loan taken a month ago.
		name: "loan_repayment",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("repayer", 35)
			p.RepayDay, p.RepayAmt = 10, 2150.40
			w.ev(p, scAt(-35, "10:00"), guard.LoanApply).amt(24000)
			w.ev(p, scAt(-35, "10:02"), guard.LoanPayout).amt(24000)
			w.life(p, -45, 0)
			w.ev(p, scAt(0, "12:00"), guard.Repayment).amt(2150.40).tag("repay")
			w.ev(p, scAt(0, "12:30"), guard.Repayment).amt(21000).tag("early")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.exactly(t, "repay", guard.Allow)
			r.exactly(t, "early", guard.Allow)
		},
	},
	{
		// Withdrawing a large sum to one's own long-used card.
		name: "withdraw_own_card",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("withdrawer", 52)
			p.Withdraws = true
			w.life(p, -80, 0)
			w.ev(p, scAt(0, "16:00"), guard.Withdrawal).to(p.OwnCard).amt(20000).tag("withdraw")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "withdraw", guard.Allow) },
	},
	{
		// After a call with staff, a grandmother's large first transfer to her
		// daughter's new account is allow-listed: it may remind, never more.
		// A block-listed device still blocks despite the allow list.
		name: "allow_list_caps",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("allowed-grandma", 72)
			p.Spend = [2]float64{10, 100}
			w.life(p, -45, 0)
			daughter := scAcct{"6217-daughter-new", "赵敏"}
			w.list(scAt(0, "09:00"), guard.AllowList, guard.KindAccount, daughter.Account)
			w.transfer(p, scAt(0, "10:00"), daughter, 30000, "").tag("allowed")
			w.list(scAt(0, "11:00"), guard.BlockList, guard.KindDevice, "dev-bad-helper")
			w.transfer(p, scAt(0, "11:30"), daughter, 1000, "").dev("dev-bad-helper").tag("blocked")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			d := r.atMost(t, "allowed", guard.Remind)
			if d.Explanation == nil || d.Explanation.Cap == "" {
				t.Errorf("allowed: the allow-list cap should be explained:\n%s", scExplain(d))
			}
			r.exactly(t, "blocked", guard.Block)
		},
	},
}

func scRunAll(t *testing.T, list []scScenario) {
	for _, s := range list {
		t.Run(s.name, func(t *testing.T) {
			r := s.build().run(t)
			s.check(t, r)
		})
	}
}

func TestBuiltinScams(t *testing.T)      { scRunAll(t, scScams) }
func TestBuiltinLookalikes(t *testing.T) { scRunAll(t, scLookalikes) }

// ─────────────────────────── the pack itself ───────────────────────────

func scSpec(t *testing.T) guard.PackSpec {
	t.Helper()
	p, err := guard.ParsePack(guard.BuiltinPack())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p.Spec
}

var scHan = regexp.MustCompile(`\p{Han}`)

func TestBuiltinPackShape(t *testing.T) {
	spec := scSpec(t)
	if spec.Pack != guard.BuiltinPackName {
		t.Errorf("pack name %q, want %q", spec.Pack, guard.BuiltinPackName)
	}
	if n := len(spec.Rules); n < 45 {
		t.Errorf("%d rules, want at least 45", n)
	}
	shadow := 0
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, r := range spec.Rules {
		if r.Name.ZH == "" || r.Name.EN == "" || r.Description.ZH == "" || r.Description.EN == "" {
			t.Errorf("%s: name and description need zh and en", r.ID)
		}
		if !scHan.MatchString(r.Name.ZH) || !scHan.MatchString(r.Description.ZH) {
			t.Errorf("%s: zh name/description is not Chinese", r.ID)
		}
		if scHan.MatchString(r.Name.EN) || scHan.MatchString(r.Description.EN) {
			t.Errorf("%s: en name/description contains Chinese", r.ID)
		}
		if len([]rune(r.Description.ZH)) < 25 || len(r.Description.EN) < 60 {
			t.Errorf("%s: description too short to explain the signals", r.ID)
		}
		if r.Typology == "" || !snake.MatchString(r.Typology) {
			t.Errorf("%s: typology %q is not snake_case", r.ID, r.Typology)
		}
		if r.Code == "" {
			t.Errorf("%s: no code", r.ID)
		}
		if r.Score <= 0 || r.Score > 1 {
			t.Errorf("%s: score %v", r.ID, r.Score)
		}
		if r.Mode == guard.ModeShadow {
			shadow++
		}
	}
	if shadow < 2 || shadow > 3 {
		t.Errorf("%d shadow rules, want 2 or 3", shadow)
	}
	s := spec.Settings
	if s == nil || len(s.Thresholds) == 0 || s.CoolingOffMinutes == 0 || s.HoldMinutes == 0 || s.EscalationWindowHrs == 0 || s.AllowCap == "" {
		t.Errorf("settings incomplete: %+v", s)
	}
}

// TestBuiltinTypologiesCovered checks that every typology the brief names
// has at least one active rule, and that scenarios exercise each of them.
func TestBuiltinTypologiesCovered(t *testing.T) {
	want := []string{"impersonated_customer_service", "refund_scam", "brushing_part_time", "fake_investment",
		"fake_loan", "credit_repair", "impersonated_police", "account_takeover", "mule_account", "device_farm",
		"fake_account", "complaint_agent_fraud", "gambling", "listed_entity", "vulnerable_customer"}
	active := map[string]int{}
	for _, r := range scSpec(t).Rules {
		if r.Mode != guard.ModeShadow {
			active[r.Typology]++
		}
	}
	for _, typ := range want {
		if active[typ] == 0 {
			t.Errorf("no active rule for typology %s", typ)
		}
	}
	seen := map[string]bool{}
	for _, s := range scScams {
		r := s.build().replay(t, scRuleset(t))
		for _, d := range r.byTag {
			seen[d.Typology] = true
		}
	}
	for _, typ := range want {
		if !seen[typ] {
			t.Errorf("no scenario decision names typology %s", typ)
		}
	}
}

func TestBuiltinMessages(t *testing.T) {
	spec := scSpec(t)
	type key struct{ typ, act string }
	have := map[key]guard.MessageSpec{}
	for _, m := range spec.Messages {
		typ := m.Typology
		if typ == "" {
			typ = "*"
		}
		have[key{typ, m.Action}] = m
		if !scHan.MatchString(m.ZH) {
			t.Errorf("message %s/%s: zh text is not Chinese", typ, m.Action)
		}
		if scHan.MatchString(m.EN) {
			t.Errorf("message %s/%s: en text contains Chinese", typ, m.Action)
		}
	}
	typs := map[string]bool{"*": true}
	for _, r := range spec.Rules {
		typs[r.Typology] = true
	}
	steps := []string{"remind", "friction", "cooling_off", "hold", "block"}
	for typ := range typs {
		for _, a := range steps {
			if _, ok := have[key{typ, a}]; !ok {
				t.Errorf("no message for typology %s, action %s", typ, a)
			}
		}
	}
	// Every decision with a typology shows that typology's own text.
	rs := scRuleset(t)
	for _, s := range scScams {
		r := s.build().replay(t, rs)
		for tag, d := range r.byTag {
			if d.Action == guard.Allow || d.Typology == "" {
				continue
			}
			m := have[key{d.Typology, d.Action.String()}]
			if d.Message == nil || d.Message.ZH != m.ZH || d.Message.EN != m.EN {
				t.Errorf("%s/%s: message is not the %s/%s text", s.name, tag, d.Typology, d.Action)
			}
		}
	}
}

// scWithoutShadow compiles the built-in pack with its shadow rules removed,
// or (loud) with them turned into score-1 block rules that stay in shadow.
func scVariant(t *testing.T, loud bool) *guard.Ruleset {
	t.Helper()
	spec := scSpec(t)
	var rules []guard.RuleSpec
	for _, r := range spec.Rules {
		if r.Mode == guard.ModeShadow {
			if !loud {
				continue
			}
			r.Action, r.Score = "block", 1
		}
		rules = append(rules, r)
	}
	spec.Rules = rules
	p, err := guard.CompilePack(spec)
	if err != nil {
		t.Fatalf("compile variant: %v", err)
	}
	rs, err := guard.NewRuleset(p)
	if err != nil {
		t.Fatalf("ruleset variant: %v", err)
	}
	return rs
}

func TestBuiltinShadowNeverActs(t *testing.T) {
	base, without, loud := scRuleset(t), scVariant(t, false), scVariant(t, true)
	fired := map[string]int{}
	all := append(append(append([]scScenario{}, scScams...), scLookalikes...), scUntuned...)
	for _, s := range all {
		w := s.build()
		a, b, c := w.replay(t, base), w.replay(t, without), w.replay(t, loud)
		for i := range a.all {
			da, db, dc := a.all[i], b.all[i], c.all[i]
			for _, sh := range da.Shadow {
				fired[sh.Rule]++
			}
			for _, rs := range da.Reasons {
				if strings.HasSuffix(rs.Rule, "_SHADOW") {
					t.Errorf("%s: shadow rule %s among acting reasons", s.name, rs.Rule)
				}
			}
			for _, other := range []*guard.Decision{db, dc} {
				if da.Action != other.Action || da.Score != other.Score || da.Typology != other.Typology || len(da.Reasons) != len(other.Reasons) {
					t.Errorf("%s: event %s differs with shadow rules changed: %s/%.3f/%s vs %s/%.3f/%s", s.name, da.EventID,
						da.Action, da.Score, da.Typology, other.Action, other.Score, other.Typology)
				}
			}
			if len(db.Shadow) != 0 {
				t.Errorf("%s: shadow reasons without shadow rules", s.name)
			}
		}
	}
	if len(fired) == 0 {
		t.Errorf("no shadow rule fired in any scenario: the test proves nothing")
	}
	t.Logf("shadow rules fired: %v", fired)
}

// ─────────────────────────── look-alikes the thresholds were not tuned on ───────────────────────────

// scUntuned are legitimate look-alikes written after the pack was tuned, as
// a check of over-fitting. Each says how far it may go.
var scUntuned = []scScenario{
	{
		// A grandmother sends a 2,000 yuan red envelope to her grandson's new card.
		name: "elderly_red_envelope",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("grandma", 66)
			p.Spend = [2]float64{10, 120}
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "11:00"), scAcct{"6217-grandson", "王小宝"}, 2000, "压岁钱").tag("gift")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "gift", guard.Allow) },
	},
	{
		// A second-hand phone bought from an individual seller.
		name: "second_hand_phone",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("buyer", 27)
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "15:20"), scAcct{"6217-seller", "钟伟"}, 3500, "二手手机").tag("buy")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "buy", guard.Allow) },
	},
	{
		// Moving flat: deposit and first month to a new landlord (remind at most).
		name: "new_landlord_deposit",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("mover", 30)
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "18:00"), scAcct{"6217-new-landlord", "潘桂兰"}, 9000, "押二付一").tag("deposit")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.atMost(t, "deposit", guard.Remind) },
	},
	{
		// A night-shift nurse pays a colleague 100 yuan for food at 3 a.m., four nights running.
		name: "night_shift_food",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("nurse", 32)
			w.life(p, -45, 0)
			mate := scAcct{"6217-colleague", "谢晓燕"}
			for d := 0; d < 4; d++ {
				w.transfer(p, scAt(d, "03:05"), mate, 100, "夜宵").tag(fmt.Sprintf("n%d", d))
				w.pay(p, scAt(d, "03:20"), scAcct{"M-24h-store", "全家便利店"}, 23.5).quiet()
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for d := 0; d < 4; d++ {
				r.exactly(t, fmt.Sprintf("n%d", d), guard.Allow)
			}
		},
	},
	{
		// A family of three shares a tablet; the son registers on it and applies for a loan.
		name: "family_tablet",
		build: func() *scWorld {
			w := scNewWorld()
			dad, mum, son := w.person("tab-dad", 47), w.person("tab-mum", 45), w.person("tab-son", 19)
			son.Reg = scAt(0, "19:00")
			for _, p := range []*scPerson{dad, mum} {
				w.life(p, -30, 0)
				w.ev(p, scAt(0, "19:30"), guard.Login).dev("dev-family-tablet").quiet()
				w.pay(p, scAt(0, "19:40"), p.shops[0], 66.6).dev("dev-family-tablet").quiet()
			}
			w.ev(son, scAt(0, "20:00"), guard.Login).dev("dev-family-tablet").tag("login")
			w.ev(son, scAt(0, "20:05"), guard.ProfileChange).dev("dev-family-tablet").tag("profile")
			w.ev(son, scAt(0, "20:10"), guard.CardBind).dev("dev-family-tablet").tag("card")
			w.ev(son, scAt(0, "20:15"), guard.LoanApply).amt(3000).dev("dev-family-tablet").tag("apply")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for _, tag := range []string{"login", "profile", "card", "apply"} {
				r.exactly(t, tag, guard.Allow)
			}
		},
	},
	{
		// A new SIM: phone number changed on the usual phone, then ordinary
		// payments and a first 1,500 yuan to a new tutor two days later.
		name: "new_sim_then_payments",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("new-sim", 35)
			w.life(p, -45, 0)
			w.ev(p, scAt(0, "10:00"), guard.PhoneChange).tag("change")
			w.pay(p, scAt(0, "12:00"), p.shops[0], 35).tag("pay")
			w.transfer(p, scAt(1, "19:00"), p.Family[0], 1000, "").tag("family")
			w.transfer(p, scAt(2, "20:00"), scAcct{"6217-tutor", "郭老师"}, 1500, "数学家教").tag("tutor")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for _, tag := range []string{"change", "pay", "family", "tutor"} {
				r.exactly(t, tag, guard.Allow)
			}
		},
	},
	{
		// A renovation loan paid straight to the decoration company.
		name: "renovation_loan",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("renovator", 40)
			w.life(p, -45, 0)
			w.ev(p, scAt(0, "10:00"), guard.LoanApply).amt(50000)
			w.ev(p, scAt(0, "10:20"), guard.LoanPayout).amt(50000)
			w.transfer(p, scAt(0, "14:00"), scAcct{"6217-deco", "广州美家装饰工程有限公司"}, 45000, "装修款").tag("pay")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.atMost(t, "pay", guard.Remind) },
	},
	{
		// A freshman pays her own tuition.
		name: "student_tuition",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("freshman", 19)
			p.Spend = [2]float64{5, 60}
			w.life(p, -30, 0)
			w.transfer(p, scAt(0, "09:30"), scAcct{"6214-univ-2", "四川大学"}, 5000, "学费").tag("tuition")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "tuition", guard.Allow) },
	},
	{
		// A family trip booked with a travel agency (remind at most).
		name: "travel_agency",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("traveller", 45)
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "20:30"), scAcct{"6217-travel", "中国国旅(广东)国际旅行社有限公司"}, 12000, "云南6日游").tag("trip")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.atMost(t, "trip", guard.Remind) },
	},
	{
		// Double 11 at midnight: deposits and round pre-orders at several shops.
		name: "double_11_midnight",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("shopper", 28)
			w.life(p, -45, 0)
			shops := []scAcct{{"M-tmall-a", "天猫优品"}, {"M-tmall-b", "小米官方旗舰店"}, {"M-tmall-c", "海尔官方旗舰店"}, {"M-tmall-d", "兰蔻官方旗舰店"}, {"M-jd", "京东商城"}}
			amts := []float64{199, 1000, 2000, 300, 500}
			for i, a := range amts {
				w.pay(p, scAt(1, fmt.Sprintf("00:%02d", 2+6*i)), shops[i], a).tag(fmt.Sprintf("s%d", i))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for i := 0; i < 5; i++ {
				r.exactly(t, fmt.Sprintf("s%d", i), guard.Allow)
			}
		},
	},
	{
		// An elderly patient pays a large hospital bill on a workday.
		name: "elderly_hospital_bill",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("patient", 68)
			p.Spend = [2]float64{10, 120}
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "10:00"), scAcct{"6214-hospital", "广州市第一人民医院"}, 30000, "住院押金").tag("bill")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "bill", guard.Allow) },
	},
	{
		// A wedding gift to a nephew's new account on a Saturday.
		name: "wedding_gift",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("uncle", 50)
			w.life(p, -45, 0)
			w.transfer(p, scAt(-3, "12:00"), scAcct{"6217-nephew", "刘子轩"}, 6600, "新婚快乐").tag("gift")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "gift", guard.Allow) },
	},

	// Second round, written after all tuning.
	{
		// A 22-year-old takes an 8,000 yuan loan and pays a training school (remind at most).
		name: "young_loan_training_school",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("trainee", 22)
			p.Spend = [2]float64{8, 80}
			w.life(p, -40, 0)
			w.ev(p, scAt(0, "10:00"), guard.LoanApply).amt(8000)
			w.ev(p, scAt(0, "10:05"), guard.LoanPayout).amt(8000)
			w.transfer(p, scAt(0, "11:00"), scAcct{"6217-school", "成都某某教育科技有限公司"}, 7800, "设计课程学费").tag("fee")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.atMost(t, "fee", guard.Remind) },
	},
	{
		// A 71-year-old sends his son 3,000 yuan at 1 a.m.
		name: "elderly_night_known_son",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("old-dad", 71)
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "01:00"), p.Family[0], 3000, "").tag("son")
			return w
		},
		check: func(t *testing.T, r *scRun) { r.exactly(t, "son", guard.Allow) },
	},
	{
		// Four second-hand purchases from different sellers in a day.
		name: "second_hand_sellers",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("thrifty", 29)
			w.life(p, -45, 0)
			for i, a := range []float64{200, 350, 120, 600} {
				w.transfer(p, scAt(0, fmt.Sprintf("%02d:15", 10+3*i)), scAcct{fmt.Sprintf("6217-seller-%d", i), scSurnames[i] + "某"}, a, "闲鱼").tag(fmt.Sprintf("b%d", i))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for i := 0; i < 4; i++ {
				r.exactly(t, fmt.Sprintf("b%d", i), guard.Allow)
			}
		},
	},
	{
		// A shop owner pays six part-time helpers their wages one evening.
		name: "part_time_wages",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("shop-owner", 40)
			p.Spend, p.FamilyAmt = [2]float64{30, 600}, [2]float64{1000, 3000}
			w.life(p, -45, 0)
			for i := 0; i < 6; i++ {
				w.transfer(p, scAt(0, fmt.Sprintf("20:%02d", 5*i)), scAcct{fmt.Sprintf("6217-helper-%d", i), scSurnames[i] + scGiven[i]}, float64(300+40*i), "兼职工资").tag(fmt.Sprintf("w%d", i))
			}
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for i := 0; i < 6; i++ {
				r.atMost(t, fmt.Sprintf("w%d", i), guard.Remind)
			}
		},
	},
	{
		// On holiday: hotel Wi-Fi, the usual phone, ordinary spending.
		name: "holiday_hotel_wifi",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("holiday", 36)
			w.life(p, -45, 0)
			w.ev(p, scAt(0, "21:00"), guard.Login).ip("61.139.2.69").tag("login")
			w.pay(p, scAt(0, "21:30"), scAcct{"M-hotel-bar", "三亚某某酒店"}, 388).ip("61.139.2.69").tag("bar")
			w.transfer(p, scAt(1, "10:00"), p.Family[0], 500, "").ip("61.139.2.69").tag("family")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			for _, tag := range []string{"login", "bar", "family"} {
				r.exactly(t, tag, guard.Allow)
			}
		},
	},
	{
		// A parent pays the class fund to the teacher and a new tutor.
		name: "class_fund_and_tutor",
		build: func() *scWorld {
			w := scNewWorld()
			p := w.person("parent-2", 41)
			w.life(p, -45, 0)
			w.transfer(p, scAt(0, "20:00"), scAcct{"6217-teacher", "邱老师"}, 500, "班费").tag("fund")
			w.transfer(p, scAt(0, "20:10"), scAcct{"6217-tutor-2", "孔老师"}, 2000, "英语辅导").tag("tutor")
			return w
		},
		check: func(t *testing.T, r *scRun) {
			r.exactly(t, "fund", guard.Allow)
			r.exactly(t, "tutor", guard.Allow)
		},
	},
}

func TestBuiltinUntunedLookalikes(t *testing.T) { scRunAll(t, scUntuned) }

// TestBuiltinEveryRuleExercised replays every scenario and checks that each
// rule of the pack fires somewhere: a rule that never fires is either dead
// (a logic slip) or untested.
func TestBuiltinEveryRuleExercised(t *testing.T) {
	rs := scRuleset(t)
	fired := map[string]int{}
	all := append(append(append([]scScenario{}, scScams...), scLookalikes...), scUntuned...)
	for _, s := range all {
		r := s.build().replay(t, rs)
		for _, d := range r.all {
			for _, x := range d.Reasons {
				fired[x.Rule]++
			}
			for _, x := range d.Shadow {
				fired[x.Rule]++
			}
		}
	}
	for _, r := range scSpec(t).Rules {
		if fired[r.ID] == 0 {
			t.Errorf("rule %s never fires in any scenario", r.ID)
		}
	}
}

// TestBuiltinDocsInSync checks that docs/rules.md names every feature and
// every built-in rule, so the reference cannot silently fall behind.
func TestBuiltinDocsInSync(t *testing.T) {
	b, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Skipf("docs/rules.md not readable: %v", err)
	}
	doc := string(b)
	for _, f := range guard.FeatureNames() {
		if !strings.Contains(doc, "`"+f+"`") {
			t.Errorf("docs/rules.md does not describe feature %s", f)
		}
	}
	for _, r := range scSpec(t).Rules {
		if !strings.Contains(doc, "`"+r.ID+"`") {
			t.Errorf("docs/rules.md does not list rule %s", r.ID)
		}
	}
}

// TestBuiltinScenarioPopulation lets 300 honest customers of all ages live
// 60 ordinary-but-irregular days in one world and measures how often Guard
// intervenes. Nothing may reach cooling-off or above, and reminders and
// friction together must stay rare.
func TestBuiltinScenarioPopulation(t *testing.T) {
	w := scNewWorld()
	people := 300
	if testing.Short() {
		people = 60
	}
	for i := 0; i < people; i++ {
		p := w.person(fmt.Sprintf("pop-%03d", i), 18+(i*7)%68)
		p.Spend = [2]float64{5 + float64(i%7)*5, 60 + float64(i%11)*40}
		p.FamilyAmt = [2]float64{200 + float64(i%5)*200, 800 + float64(i%9)*400}
		if i%3 == 0 {
			p.Rent, p.RentAmt = &scAcct{fmt.Sprintf("6217-ll-%d", i), "房东" + scGiven[i%12]}, float64(1500+100*(i%30))
		}
		p.Withdraws = i%4 == 0
		if i%5 == 0 {
			p.RepayDay, p.RepayAmt = 1+i%28, 800+float64(i%13)*97.5
		}
		w.richLife(p, -60, 0)
	}
	r := w.replay(t, scRuleset(t))
	steps := map[guard.Action]int{}
	byRule := map[string]int{}
	for _, d := range r.all {
		steps[d.Action]++
		if d.Action >= guard.Remind {
			for _, x := range d.Reasons {
				byRule[x.Rule]++
			}
		}
		if d.Action >= guard.CoolingOff {
			t.Errorf("honest event reached %s:\n%s", d.Action, scExplain(d))
		}
	}
	n := len(r.all)
	rate := float64(steps[guard.Remind]+steps[guard.Friction]) / float64(n)
	t.Logf("%d events: %v; intervention rate %.3f%%; rules: %v", n, steps, 100*rate, byRule)
	if rate > 0.005 {
		t.Errorf("intervention rate %.3f%% on honest customers, want at most 0.5%%", 100*rate)
	}
}
