# Reference design-based estimates for tests/reports/test_survey_r.py, computed with R's
# `survey` package (Lumley; Debian r-cran-survey, tested with 4.1). Run:
#   Rscript tests/reports/survey_reference.R tests/reports/data/survey_reference.csv out.csv
#
# The data: one survey round, two population groups (each its own design), strata = regions,
# except KZ-55 = urban + rural; 2, 3, 10, 4 + 3 PSUs (clusters) per region; unequal PPS design
# weights per cluster; censored results (< LOD) with two limits, 10 and 20 µg/L.
# As in reports.stats:
#   * a censored result ranks below every measured value (here: value 0);
#   * within a stratum the design weights are scaled to the stratum's population, so pooled
#     (national) rows combine strata by population share;
#   * the median is svyquantile's qrule = "school", its CI Woodruff's (interval.type = "mean",
#     t on degf(design) = PSUs - strata), proportions' CI svyciprop(method = "xlogit");
#   * a stratum with a single PSU: options(survey.lonely.psu = "adjust").
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
d$stratum[is.na(d$stratum) | d$stratum == ""] <- ""
d$stratum_key <- paste(d$region_code, d$stratum)
d$y <- ifelse(d$censored == "True", 0, d$uic)
out <- list()
one <- function(des, group, region) {
  q <- svyquantile(~y, des, quantiles = 0.5, ci = TRUE, qrule = "school",
                   interval.type = "mean")$y
  row <- data.frame(group_code = group, region_code = region, median = q[1, "quantile"],
                    ci_low = q[1, 2], ci_high = q[1, 3], se = q[1, "se"], df = degf(des))
  for (cut in c(50, 100)) {
    p <- svyciprop(as.formula(paste0("~I(y < ", cut, ")")), des, method = "xlogit")
    row[[paste0("pct_below_", cut)]] <- 100 * as.numeric(p)
    row[[paste0("pct_below_", cut, "_ci_low")]] <- 100 * attr(p, "ci")[1]
    row[[paste0("pct_below_", cut, "_ci_high")]] <- 100 * attr(p, "ci")[2]
  }
  row
}
for (group in sort(unique(d$group_code))) {
  g <- d[d$group_code == group, ]
  g$w <- g$weight * g$population / ave(g$weight, g$stratum_key, FUN = sum)
  des <- svydesign(ids = ~cluster_id, strata = ~stratum_key, weights = ~w, data = g, nest = TRUE)
  out[[length(out) + 1]] <- one(des, group, "national")
  for (region in sort(unique(g$region_code))) {
    out[[length(out) + 1]] <- one(subset(des, region_code == region), group, region)
  }
}
# A stratum left with one PSU (KZ-11's second SAC cluster dropped): R's lonely.psu "adjust",
# as reports.survey does, on the national SAC row.
options(survey.lonely.psu = "adjust")
g <- d[d$group_code == "SAC" & d$cluster_id != "KZ-11-all-SAC-02", ]
g$w <- g$weight * g$population / ave(g$weight, g$stratum_key, FUN = sum)
des <- svydesign(ids = ~cluster_id, strata = ~stratum_key, weights = ~w, data = g, nest = TRUE)
out[[length(out) + 1]] <- one(des, "SAC", "national, one-PSU stratum")
write.csv(do.call(rbind, out), args[2], row.names = FALSE)
