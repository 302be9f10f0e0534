"""The events in the schemas SIEMs and data lakes read: OCSF 1.8.0 and ECS 9.4.0.

`_table` holds what each event type is (class, activity, categorisation) as data; `_ocsf` and `_ecs`
build the documents from an event's facts (`openapiopenai.anatomy`); `_values` checks the values the
schemas type. The public entry points are `openapiopenai.ocsf.to_ocsf` and `openapiopenai.ecs.to_ecs`.
"""
