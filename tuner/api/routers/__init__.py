"""One router per resource: experiments, trials, downloads and charts."""
