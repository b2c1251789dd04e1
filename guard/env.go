package guard

// Env is what a rule sees: the event and the features computed for it in
// event time. Rules are type-checked against it at load, so a misspelt
// feature is a load error, not a silent false. Field tags are the names
// rules use. Counts and sums over windows include the current event;
// history features (is_new, averages, "hours since") describe what was known
// before it. "Hours since" features are 1e6 when the thing never happened.
type Env struct {
	Event    EventEnv    `expr:"event"`
	Customer CustomerEnv `expr:"customer"`
	Device   DeviceEnv   `expr:"device"`
	IP       IPEnv       `expr:"ip"`
	Payee    PayeeEnv    `expr:"payee"`
	Lists    ListsEnv    `expr:"lists"`
	Memo     MemoEnv     `expr:"memo"`
}

// Never is the value of an "hours/days since" feature for something that
// never happened.
const Never = 1e6

// EventEnv describes the event itself.
type EventEnv struct {
	Type     string  `expr:"type"`
	Amount   float64 `expr:"amount"` // yuan
	Currency string  `expr:"currency"`
	// Hour is the local hour (0–23) in the customer's own time zone, taken
	// from the offset occurred_at was sent with.
	Hour    int  `expr:"hour"`
	Night   bool `expr:"night"` // local 00:00–05:59
	Weekday int  `expr:"weekday"`
	Weekend bool `expr:"weekend"`
	// Round is true for whole amounts of at least 100 yuan that are multiples
	// of 100; RoundLevel is 100, 1000 or 10000 (the largest that divides).
	Round      bool   `expr:"round"`
	RoundLevel int    `expr:"round_level"`
	Memo       string `expr:"memo_text"`
	HasDevice  bool   `expr:"has_device"`
	HasIP      bool   `expr:"has_ip"`
	HasPayee   bool   `expr:"has_payee"`
	Channel    string `expr:"channel"` // the optional extra member "channel", if a string
}

// CustomerEnv holds the customer's own features.
type CustomerEnv struct {
	ID       string `expr:"id"`
	Age      int    `expr:"age"` // -1 unknown
	AgeKnown bool   `expr:"age_known"`
	// AgeBand is one of "unknown", "minor", "18-24", "25-34", "35-44",
	// "45-59", "60-69", "70+".
	AgeBand     string  `expr:"age_band"`
	Elderly     bool    `expr:"elderly"`      // 60 or older
	Young       bool    `expr:"young"`        // 18–24, students' age
	TenureDays  float64 `expr:"tenure_days"`  // since registered_at, else since first seen
	SeenDays    float64 `expr:"seen_days"`    // since Guard first saw the customer
	NewCustomer bool    `expr:"new_customer"` // tenure under 7 days

	Events1h          int `expr:"events_1h"`
	Events24h         int `expr:"events_24h"`
	Logins1h          int `expr:"logins_1h"`
	Logins24h         int `expr:"logins_24h"`
	LoanApps24h       int `expr:"loan_applies_24h"`
	LoanApps7d        int `expr:"loan_applies_7d"`
	CardBinds24h      int `expr:"card_binds_24h"`
	ProfileChanges24h int `expr:"profile_changes_24h"`
	PayeeAdds24h      int `expr:"payee_adds_24h"`

	// Outflows to accounts: transfers and withdrawals (payments to
	// merchants are counted apart, in pay_*).
	OutCount10m int     `expr:"out_count_10m"`
	OutCount1h  int     `expr:"out_count_1h"`
	OutCount24h int     `expr:"out_count_24h"`
	OutCount7d  int     `expr:"out_count_7d"`
	OutCount30d int     `expr:"out_count_30d"`
	OutCount90d int     `expr:"out_count_90d"`
	OutSum10m   float64 `expr:"out_sum_10m"`
	OutSum1h    float64 `expr:"out_sum_1h"`
	OutSum24h   float64 `expr:"out_sum_24h"`
	OutSum7d    float64 `expr:"out_sum_7d"`
	OutSum30d   float64 `expr:"out_sum_30d"`
	OutSum90d   float64 `expr:"out_sum_90d"`
	// Payments to merchant terminals.
	PayCount1h  int     `expr:"pay_count_1h"`
	PayCount24h int     `expr:"pay_count_24h"`
	PayCount7d  int     `expr:"pay_count_7d"`
	PayCount30d int     `expr:"pay_count_30d"`
	PaySum1h    float64 `expr:"pay_sum_1h"`
	PaySum24h   float64 `expr:"pay_sum_24h"`
	PaySum7d    float64 `expr:"pay_sum_7d"`
	PaySum30d   float64 `expr:"pay_sum_30d"`
	// History before this event, over 90 days, of the same kind of outflow
	// (payments for a payment, transfers and withdrawals otherwise): mean
	// and largest amount, and how this amount compares (0 when there is no
	// history).
	OutAvg90d   float64 `expr:"out_avg_90d"`
	OutMax90d   float64 `expr:"out_max_90d"`
	AmountToAvg float64 `expr:"amount_to_avg"`
	AmountToMax float64 `expr:"amount_to_max"`
	OutHistory  int     `expr:"out_history"` // outflows before this one in 90 days

	Payees1h     int `expr:"payees_1h"`
	Payees24h    int `expr:"payees_24h"`
	Payees7d     int `expr:"payees_7d"`
	NewPayees24h int `expr:"new_payees_24h"`
	NewPayees7d  int `expr:"new_payees_7d"`
	Devices24h   int `expr:"devices_24h"`
	Devices30d   int `expr:"devices_30d"`
	IPs24h       int `expr:"ips_24h"`

	HoursSinceDeviceChange  float64 `expr:"hours_since_device_change"`
	HoursSincePhoneChange   float64 `expr:"hours_since_phone_change"`
	HoursSinceProfileChange float64 `expr:"hours_since_profile_change"`
	HoursSinceLogin         float64 `expr:"hours_since_login"`
	HoursSinceLoanPayout    float64 `expr:"hours_since_loan_payout"`
	LastLoanPayout          float64 `expr:"last_loan_payout"` // yuan
	// Night-time round outflows (a gambling pattern) and the distinct payees
	// they went to.
	NightRoundOut7d    int `expr:"night_round_out_7d"`
	NightRoundOut30d   int `expr:"night_round_out_30d"`
	NightRoundPayees7d int `expr:"night_round_payees_7d"`
	RoundOut7d         int `expr:"round_out_7d"`

	// Interventions shown before this event within the escalation window.
	Interventions7d int `expr:"interventions_7d"`
	// Flags from outcomes and other modules.
	ConfirmedVictim bool    `expr:"confirmed_victim"` // a confirmed fraud outcome within 90 days
	HoursSinceFlag  float64 `expr:"hours_since_flag"` // a risk flag raised by service or cases
	FlagTypology    string  `expr:"flag_typology"`
}

// DeviceEnv holds the device's features.
type DeviceEnv struct {
	ID              string  `expr:"id"`
	NewForCustomer  bool    `expr:"new_for_customer"` // this customer never used it before
	Customers1h     int     `expr:"customers_1h"`
	Customers24h    int     `expr:"customers_24h"`
	Customers30d    int     `expr:"customers_30d"`
	NewCustomers24h int     `expr:"new_customers_24h"` // customers first seen on this device in 24h
	Events1h        int     `expr:"events_1h"`
	Events24h       int     `expr:"events_24h"`
	SeenDays        float64 `expr:"seen_days"`
	ConfirmedFraud  int     `expr:"confirmed_fraud"` // confirmed fraud outcomes on events from it
}

// IPEnv holds the IP address's features.
type IPEnv struct {
	Customers1h  int `expr:"customers_1h"`
	Customers24h int `expr:"customers_24h"`
	Events1h     int `expr:"events_1h"`
	Events24h    int `expr:"events_24h"`
}

// PayeeEnv holds the counterparty account's features: for this customer
// (is_new, known_days) and across all customers (fan-in, reports).
type PayeeEnv struct {
	Account string `expr:"account"`
	Name    string `expr:"name"`
	// Institution is true when the payee name is a school, hospital,
	// utility or government body; Company when it is a registered company.
	// Scams pay people, so rules about "a new personal account" exclude both.
	Institution bool `expr:"institution"`
	Company     bool `expr:"company"`
	// IsNew is true when this customer never paid or added this account before.
	IsNew      bool    `expr:"is_new"`
	KnownDays  float64 `expr:"known_days"`  // since this customer first used it; 0 if new
	AddedHours float64 `expr:"added_hours"` // since this customer added it as a payee
	SeenDays   float64 `expr:"seen_days"`   // since any customer first used it
	InCount1h  int     `expr:"in_count_1h"`
	InCount24h int     `expr:"in_count_24h"`
	InCount7d  int     `expr:"in_count_7d"`
	InSum24h   float64 `expr:"in_sum_24h"`
	InSum7d    float64 `expr:"in_sum_7d"`
	// Payers counts distinct customers paying in: the fan-in of a mule.
	Payers1h        int `expr:"payers_1h"`
	Payers24h       int `expr:"payers_24h"`
	Payers7d        int `expr:"payers_7d"`
	Payers30d       int `expr:"payers_30d"`
	NewPayers24h    int `expr:"new_payers_24h"`
	ElderlyPayers7d int `expr:"elderly_payers_7d"`
	NightRoundIn7d  int `expr:"night_round_in_7d"`
	// Reported counts confirmed-fraud outcomes on payments to this account;
	// FalseAlarms counts false-alarm outcomes.
	Reported    int  `expr:"reported"`
	FalseAlarms int  `expr:"false_alarms"`
	IsReported  bool `expr:"is_reported"`
}

// ListsEnv says which lists the event's entities are on (unexpired at event time).
type ListsEnv struct {
	BlockAccount  bool `expr:"block_account"`
	BlockDevice   bool `expr:"block_device"`
	BlockIP       bool `expr:"block_ip"`
	BlockPhone    bool `expr:"block_phone"`
	BlockID       bool `expr:"block_id"`
	BlockCustomer bool `expr:"block_customer"`
	AllowAccount  bool `expr:"allow_account"`
	AllowDevice   bool `expr:"allow_device"`
	AllowCustomer bool `expr:"allow_customer"`
	AnyBlock      bool `expr:"any_block"`
	AnyAllow      bool `expr:"any_allow"`
}

// MemoEnv flags scam vocabulary in the memo the customer typed (and the
// payee name): what a scammer tells the victim to write often gives the
// script away.
type MemoEnv struct {
	SafeAccount  bool `expr:"safe_account"`  // 安全账户, 资金核查, 清查
	Police       bool `expr:"police"`        // 公安, 警官, 通缉, 洗钱, 检察院
	StudentLoan  bool `expr:"student_loan"`  // 注销校园贷, 学生账户, 影响征信
	Refund       bool `expr:"refund"`        // 退款, 理赔, 快递丢失, 双倍赔偿
	Rebate       bool `expr:"rebate"`        // 刷单, 返利, 佣金, 做任务, 垫付
	Investment   bool `expr:"investment"`    // 投资, 理财, 收益, 带单, 炒币, USDT
	LoanFee      bool `expr:"loan_fee"`      // 保证金, 解冻, 验资, 刷流水, 手续费
	CreditRepair bool `expr:"credit_repair"` // 征信修复, 洗白, 消除逾期
	Gambling     bool `expr:"gambling"`      // 下注, 上分, 彩金, 博彩, 百家乐
	DebtAgent    bool `expr:"debt_agent"`    // 停息挂账, 债务优化, 代理维权, 反催收
	Wages        bool `expr:"wages"`         // 工资, 薪, 劳务费, 报酬: an employer paying, not a scam
	Any          bool `expr:"any"`
}
