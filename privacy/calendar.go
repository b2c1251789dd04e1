package privacy

import (
	"fmt"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// DefaultResponseDays is the default time to answer a data-subject
// request, in working days. PIPL art. 50 asks for a timely answer without
// naming a number, so this is the platform's default, set per firm by
// Policy.ResponseDays.
const DefaultResponseDays = 15

// dateLayout is how configured dates are written.
const dateLayout = "2006-01-02"

// Calendar says which days are working days: Monday to Friday, except the
// public holidays, plus the weekend days that are worked instead (调休).
// China moves working days every year, so both lists come from
// configuration, typically the State Council's notice for the year.
type Calendar struct {
	loc      *time.Location
	holidays map[date]bool
	workdays map[date]bool
}

// date is a civil date.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

// NewCalendar returns a calendar in loc (nil: Asia/Shanghai, or UTC+8 if
// the time zone database is missing) with extra holidays and extra working
// days given as "2006-01-02". A bad date or a day in both lists is an
// EINVALID error naming the list entry.
func NewCalendar(loc *time.Location, holidays, workdays []string) (*Calendar, error) {
	if loc == nil {
		loc = china()
	}
	c := &Calendar{loc: loc, holidays: map[date]bool{}, workdays: map[date]bool{}}
	var fe []xiaobao.FieldError
	parse := func(field string, days []string, into map[date]bool) {
		for i, s := range days {
			t, err := time.Parse(dateLayout, s)
			if err != nil {
				fe = append(fe, xiaobao.FieldError{Field: fmt.Sprintf("%s[%d]", field, i), Reason: "must be a date written 2006-01-02"})
				continue
			}
			into[dateOf(t)] = true
		}
	}
	parse("holidays", holidays, c.holidays)
	parse("workdays", workdays, c.workdays)
	for i, s := range workdays {
		if t, err := time.Parse(dateLayout, s); err == nil && c.holidays[dateOf(t)] {
			fe = append(fe, xiaobao.FieldError{Field: fmt.Sprintf("workdays[%d]", i), Reason: s + " is also a holiday"})
		}
	}
	if err := invalid("the working-day calendar is invalid", fe); err != nil {
		return nil, err
	}
	return c, nil
}

// china returns China Standard Time; it has had no daylight saving since
// 1991, so a fixed zone is exact for every date this deals with.
func china() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// IsWorkingDay reports whether the day of t, in the calendar's time zone,
// is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	d := dateOf(t.In(c.loc))
	switch {
	case c.workdays[d]:
		return true
	case c.holidays[d]:
		return false
	}
	wd := t.In(c.loc).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Deadline returns the instant before which a request received at t must
// be answered: the midnight that ends the n-th working day after the day
// of receipt (the day of receipt does not count, as in 《民法典》 art. 201,
// whatever time of day the request came in).
func (c *Calendar) Deadline(t time.Time, n int) time.Time {
	y, m, d := t.In(c.loc).Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, c.loc) // noon: safe from any DST edge
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if c.IsWorkingDay(day) {
			n--
		}
	}
	y, m, d = day.AddDate(0, 0, 1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc).UTC()
}

// Holidays and Workdays return the configured extra days, sorted.
func (c *Calendar) Holidays() []string { return dateStrings(c.holidays) }
func (c *Calendar) Workdays() []string { return dateStrings(c.workdays) }

func dateStrings(m map[date]bool) []string {
	out := make([]string, 0, len(m))
	for d := range m {
		out = append(out, time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC).Format(dateLayout))
	}
	slices.Sort(out)
	return out
}
